import ModelFormats
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// How many completions fit in memory at once, so that `iap generate --n 100000` is split
/// into batches or refused with the figures instead of growing until the machine swaps.
public enum GenerationMemory {
    /// Peak bytes one completion adds to a `generate` call: its keys and values for every
    /// layer over prompt + new tokens (sliding-window layers: at most the window, its slack
    /// and the prompt, which the prefill holds), and the per-row sampling work on the
    /// vocabulary (logits, scaled float32 copies, log-softmax, sort, masks, the float64 CDF:
    /// about 48 bytes per vocabulary entry).
    public static func bytesPerCompletion(config: CausalLMConfig, dtype: DType, promptTokens: Int, maxNewTokens: Int) -> Int {
        kvCacheBytes(config: config, dtype: dtype, promptTokens: promptTokens, maxNewTokens: maxNewTokens) + config.vocabSize * 48
    }

    /// Peak bytes of one sequence's keys and values; `windowed`: sliding-window layers keep
    /// only their window (`GenerationOptions.trimsSlidingWindowCache`) — once the prompt is in, when
    /// not `includingPrefill` (the prefill holds the whole prompt's keys in every layer).
    public static func kvCacheBytes(
        config: CausalLMConfig, dtype: DType, promptTokens: Int, maxNewTokens: Int, windowed: Bool = true, includingPrefill: Bool = true
    ) -> Int {
        let total = promptTokens + maxNewTokens
        let slots = (0..<config.layerCount).reduce(0) { sum, layer in
            guard windowed, config.slides(layer), let size = config.slidingWindow else { return sum + total }
            let window = SlidingWindowSlots(size: size, layers: [true])
            return sum + min(total, window.roomy(time: includingPrefill ? promptTokens : 1))
        }
        return 2 * config.kvHeadCount * config.headDim * slots * dtype.byteSize
    }

    /// Memory the system can still hand out (`MemAvailable` in /proc/meminfo), nil where
    /// that is not known.
    public static func availableBytes() -> Int? {
        guard let file = fopen("/proc/meminfo", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("MemAvailable:") else { continue }
            let kilobytes = text.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    /// Completions per batch: as many as fit in `fraction` of `available` bytes, at most
    /// `wanted`; 0 when not even one fits.
    public static func completionsPerBatch(wanted: Int, bytesPerCompletion: Int, available: Int, fraction: Double = 0.7) -> Int {
        guard bytesPerCompletion > 0 else { return wanted }
        return min(wanted, Int(Double(available) * fraction) / bytesPerCompletion)
    }
}

extension CausalLM {
    /// `options.samplesPerPrompt` completions of one prompt, generated `perBatch` at a time
    /// (batch k after the first uses seed + k, so one batch gives exactly what `generate`
    /// gives). Sample numbers and `onText` indices count across batches.
    public func generateSamples(
        prompt: [Int], tokenizer: Tokenizer, options: GenerationOptions, perBatch: Int,
        onText: ((Int, String) -> Void)? = nil
    ) throws(TorchError) -> [GeneratedSequence] {
        let wanted = options.samplesPerPrompt
        let size = max(1, min(perBatch, wanted))
        var results: [GeneratedSequence] = []
        results.reserveCapacity(wanted)
        var batch = 0
        while results.count < wanted {
            let offset = results.count
            var chunk = options
            chunk.samplesPerPrompt = min(size, wanted - offset)
            chunk.seed = options.seed &+ UInt64(batch)
            let out = try generate(prompts: [prompt], tokenizer: tokenizer, options: chunk) { index, piece in onText?(offset + index, piece)
            }
            results += out.map { s in
                GeneratedSequence(
                    prompt: 0, sample: offset + s.sample, tokens: s.tokens, logProbs: s.logProbs, text: s.text,
                    finishReason: s.finishReason,
                    forced: s.forced, budgetEndedBlocks: s.budgetEndedBlocks)
            }
            batch += 1
        }
        return results
    }
}

/// Not even one completion fits in the memory still available; the text gives the figures.
public struct GenerationMemoryError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension CausalLM {
    /// Completions of `promptTokens` + `maxNewTokens` generated together: all `wanted` on a
    /// GPU or where the free memory is not known, else as many as fit in 70 % of the memory
    /// still available (`available`: that figure, for a note when batches are split).
    public func completionsPerBatch(wanted: Int, promptTokens: Int, maxNewTokens: Int) throws(GenerationMemoryError) -> (
        perBatch: Int, available: Int?
    ) {
        guard device == .cpu, let available = GenerationMemory.availableBytes() else { return (wanted, nil) }
        let each = GenerationMemory.bytesPerCompletion(config: config, dtype: dtype, promptTokens: promptTokens, maxNewTokens: maxNewTokens)
        let perBatch = GenerationMemory.completionsPerBatch(wanted: wanted, bytesPerCompletion: each, available: available)
        guard perBatch >= 1 else {
            throw GenerationMemoryError(
                description: "one completion of \(promptTokens) prompt + \(maxNewTokens) new tokens needs about \(each >> 20) MB; "
                    + "\(available >> 20) MB of memory are available (lower --max-tokens)")
        }
        return (perBatch, available)
    }
}

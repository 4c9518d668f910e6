import ModelFormats
import Torch

/// Decoding settings for `CausalLM.generate`.
public struct GenerationOptions: Sendable {
    public var maxNewTokens = 256
    /// Sampling temperature; the reported log-probs are of the distribution at this
    /// temperature. Ignored (taken as 1) when `greedy`.
    public var temperature = 1.0
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `topP`.
    public var topP = 1.0
    /// Keep only the `topK` most likely tokens (0: all).
    public var topK = 0
    public var greedy = false
    /// Completions per prompt; they share one prefill of the prompt.
    public var samplesPerPrompt = 1
    /// Token ids that end a completion (included in its tokens, not in its text), besides
    /// the model's EOS ids when `stopAtEOS`.
    public var stopTokenIds: [Int] = []
    public var stopAtEOS = true
    /// Texts that end a completion; the text is cut before the stop string.
    public var stopStrings: [String] = []
    public var seed: UInt64 = 0

    public init() {}
}

/// One completion.
public struct GeneratedSequence: Sendable, Equatable {
    public enum FinishReason: String, Sendable {
        case stop, length
    }
    public let prompt: Int
    public let sample: Int
    public var tokens: [Int]
    /// Log-probability of each token under the temperature-scaled model distribution (before
    /// top-p/top-k truncation): what the trainer's forward pass computes for the same tokens.
    public var logProbs: [Float]
    public var text: String
    public var finishReason: FinishReason
}

extension CausalLM {
    /// Samples completions for a batch of tokenized prompts of any lengths.
    ///
    /// Prompts are left-padded into one batch (positions count real tokens only) and run
    /// through the model once; each prompt's keys/values are then repeated for its samples.
    /// Decoding appends one token per step to a preallocated cache. Finished sequences are
    /// dropped from the batch as they accumulate. `onText(index, piece)` receives each
    /// completion's text as it grows (index = prompt · samplesPerPrompt + sample).
    public func generate(
        prompts: [[Int]], tokenizer: Tokenizer, options: GenerationOptions,
        onText: ((Int, String) -> Void)? = nil
    ) throws(TorchError) -> [GeneratedSequence] {
        guard !prompts.isEmpty else { return [] }
        for (i, p) in prompts.enumerated() where p.isEmpty || p.contains(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TorchError(operation: "generate", message: "prompt \(i) is empty or holds an id outside 0..<\(config.vocabSize)")
        }
        guard options.maxNewTokens >= 0, options.samplesPerPrompt >= 1 else {
            throw TorchError(operation: "generate", message: "maxNewTokens must be ≥ 0 and samplesPerPrompt ≥ 1")
        }
        guard options.greedy || options.temperature > 0 else {
            throw TorchError(operation: "generate", message: "temperature must be positive (or use greedy)")
        }
        let samples = options.samplesPerPrompt
        let total = prompts.count * samples
        var stopIds = Set(options.stopTokenIds)
        if options.stopAtEOS { stopIds.formUnion(config.eosTokenIds + (tokenizer.eosId.map { [$0] } ?? [])) }
        var results = (0..<total).map {
            GeneratedSequence(prompt: $0 / samples, sample: $0 % samples, tokens: [], logProbs: [], text: "", finishReason: .length)
        }
        if options.maxNewTokens == 0 { return results }
        let generator = try Generator(seed: options.seed, device: device)

        // Prefill: [P, L] left-padded.
        let longest = prompts.map(\.count).max() ?? 0
        var ids = [Int64]()
        var valid = [Bool]()
        for p in prompts {
            ids += [Int64](repeating: 0, count: longest - p.count) + p.map(Int64.init)
            valid += [Bool](repeating: false, count: longest - p.count) + [Bool](repeating: true, count: p.count)
        }
        let idTensor = try Tensor(ids, shape: [prompts.count, longest]).to(device)
        let validTensor = try Tensor(valid, shape: [prompts.count, longest]).to(device)
        let cache = try KVCache(
            layers: config.layerCount, batch: prompts.count, kvHeads: config.kvHeadCount, headDim: config.headDim,
            capacity: longest + options.maxNewTokens, dtype: dtype, device: device)
        let padded = longest != prompts.map(\.count).min()
        var logits = try withNoGrad { () throws(TorchError) -> Tensor in
            let positions = try CausalLM.positions(valid: padded ? validTensor : nil, batch: prompts.count, time: longest, device: device)
            let hidden = try hiddenStates(ids: idTensor, positions: positions, valid: padded ? validTensor : nil, cache: cache)
            return try self.logits(hidden.narrow(dim: 1, start: longest - 1, length: 1)).squeeze(1)  // [P, V]
        }
        // Each prompt's cache rows repeated for its samples: row r ← prompt r / samples.
        if samples > 1 {
            let rows = try Tensor((0..<total).map { Int64($0 / samples) }).to(device)
            try cache.select(rows: rows)
            logits = try logits.indexSelect(dim: 0, index: rows)
        }

        var rowOf = Array(0..<total)  // batch row → sequence index
        var nextPosition = (0..<total).map { prompts[$0 / samples].count }
        var finished = [Bool](repeating: false, count: total)
        var decoders = (0..<total).map { _ in tokenizer.streamingDecoder(skipSpecialTokens: true) }
        var parked = 0  // finished sequences still occupying a batch row

        for step in 0..<options.maxNewTokens {
            let (chosen, chosenLogProbs) = try withNoGrad { () throws(TorchError) -> ([Int], [Float]) in
                try sample(logits: logits, options: options, generator: generator)
            }
            for (row, sequence) in rowOf.enumerated() where !finished[sequence] {
                let token = chosen[row]
                results[sequence].tokens.append(token)
                results[sequence].logProbs.append(chosenLogProbs[row])
                nextPosition[sequence] += 1
                if stopIds.contains(token) {
                    finished[sequence] = true
                    results[sequence].finishReason = .stop
                    results[sequence].text += decoders[sequence].finish()
                    parked += 1
                    continue
                }
                let piece = decoders[sequence].push(token)
                if piece.isEmpty { continue }
                let before = results[sequence].text
                results[sequence].text += piece
                if let cut = CausalLM.stopCut(results[sequence].text, stops: options.stopStrings, searchFrom: before.utf8.count) {
                    results[sequence].text = String(decoding: Array(results[sequence].text.utf8)[..<cut], as: UTF8.self)
                    finished[sequence] = true
                    results[sequence].finishReason = .stop
                    parked += 1
                    if cut > before.utf8.count {
                        onText?(sequence, String(decoding: Array(results[sequence].text.utf8)[before.utf8.count...], as: UTF8.self))
                    }
                    continue
                }
                onText?(sequence, piece)
            }
            if finished.allSatisfy({ $0 }) || step == options.maxNewTokens - 1 { break }
            // Drop finished rows once they are a quarter of the batch (a cache copy each time).
            if parked > 0 && parked * 4 >= rowOf.count {
                let keep = rowOf.indices.filter { !finished[rowOf[$0]] }
                try cache.select(rows: try Tensor(keep.map(Int64.init)).to(device))
                rowOf = keep.map { rowOf[$0] }
                parked = 0
            }
            let stepIds = try Tensor(rowOf.map { Int64(results[$0].tokens.last ?? 0) }, shape: [rowOf.count, 1]).to(device)
            let stepPositions = try Tensor(rowOf.map { Int64(nextPosition[$0] - 1) }, shape: [rowOf.count, 1]).to(device)
            let stepValid = try Tensor.ones([rowOf.count, 1], dtype: .bool, device: device)
            logits = try withNoGrad { () throws(TorchError) -> Tensor in
                let hidden = try hiddenStates(ids: stepIds, positions: stepPositions, valid: stepValid, cache: cache)
                return try self.logits(hidden).squeeze(1)
            }
        }
        for i in 0..<total where !finished[i] {
            let rest = decoders[i].finish()
            results[i].text += rest
            if !rest.isEmpty { onText?(i, rest) }
        }
        return results
    }

    /// Picks one token per row of logits [rows, vocab]; returns the tokens and their
    /// log-probabilities under softmax(logits / temperature).
    private func sample(logits: Tensor, options: GenerationOptions, generator: Generator) throws(TorchError) -> ([Int], [Float]) {
        let temperature = options.greedy ? 1 : options.temperature
        let scaled = try logits.to(.float32) / temperature
        let logProbs = try scaled.logSoftmax(dim: -1)
        let chosen: Tensor
        if options.greedy {
            chosen = try scaled.argmax(dim: -1, keepDim: true)
        } else {
            var filtered = scaled
            if options.topK > 0 && options.topK < config.vocabSize {
                let kth = try filtered.topk(options.topK, dim: -1).values.narrow(dim: -1, start: options.topK - 1, length: 1)
                filtered = try filtered.maskedFill(try filtered.lt(kth), -Double.infinity)
            }
            if options.topP < 1 {
                let (sorted, order) = try filtered.sort(dim: -1, descending: true)
                let cumulative = try sorted.softmax(dim: -1).cumsum(dim: -1)
                // Drop a token when the tokens before it already reach top-p (the first always stays).
                let before = try cumulative - sorted.softmax(dim: -1)
                let dropSorted = try before.ge(.float(options.topP))
                let drop = try dropSorted.scatter(dim: -1, index: order, source: dropSorted)
                filtered = try filtered.maskedFill(drop, -Double.infinity)
            }
            chosen = try CausalLM.sampleInverseCDF(probabilities: try filtered.softmax(dim: -1), generator: generator)
        }
        let picked = try logProbs.gather(dim: -1, index: chosen).squeeze(1)
        return (try chosen.squeeze(1).to(.int64).toArray(Int64.self).map { Int($0) }, try picked.toArray(Float.self))
    }

    /// One draw per row of probabilities [rows, vocab] by inverting the cumulative
    /// distribution at a uniform number: the first id whose cumulative probability exceeds
    /// u·total. Exact like `multinomial` (sums in f64), and about 10× faster than ATen's
    /// CPU multinomial over a 49k vocabulary. Returns [rows, 1] int64.
    static func sampleInverseCDF(probabilities: Tensor, generator: Generator) throws(TorchError) -> Tensor {
        let rows = probabilities.shape[0]
        let vocab = probabilities.shape[1]
        let cdf = try probabilities.to(.float64).cumsum(dim: -1)
        let total = try cdf.narrow(dim: 1, start: vocab - 1, length: 1)
        let u = try Tensor.rand([rows, 1], dtype: .float64, device: probabilities.device, generator: generator) * total
        // Count of ids whose cumulative probability is ≤ u = the index of the first one above.
        let index = try cdf.le(u).sum(dims: [1], keepDim: true).clamp(max: Double(vocab - 1)).to(.int64)
        return index
    }

    /// Byte offset where the earliest stop string begins in `text`, looking only at matches
    /// that end after `searchFrom` (the text before was already checked).
    static func stopCut(_ text: String, stops: [String], searchFrom: Int) -> Int? {
        guard !stops.isEmpty else { return nil }
        // Only the tail where a match ending after `searchFrom` can start (decode loop: do not
        // rescan the whole completion for every new piece).
        let longest = stops.map(\.utf8.count).max() ?? 0
        let tailStart = max(0, searchFrom - longest + 1)
        let bytes = Array(text.utf8.dropFirst(tailStart))
        var best: Int?
        for stop in stops where !stop.isEmpty {
            let pattern = Array(stop.utf8)
            guard pattern.count <= bytes.count else { continue }
            var i = max(0, searchFrom - pattern.count + 1 - tailStart)
            while i + pattern.count <= bytes.count {
                if bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                    best = min(best ?? i + tailStart, i + tailStart)
                    break
                }
                i += 1
            }
        }
        return best
    }
}

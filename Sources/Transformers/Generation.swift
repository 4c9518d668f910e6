import ModelFormats
import Torch

/// Decoding settings for `CausalLM.generate`.
public struct GenerationOptions: Sendable {
    /// Adds the stop strings a chat template needs (the plain template's next-turn markers).
    public mutating func addStops(of template: ChatTemplate) {
        for text in template.stopStrings where !stopStrings.contains(text) { stopStrings.append(text) }
    }

    /// With a `scaffold`, raised to what its budgets and tags can take, so that a scaffolded
    /// completion always ends its last block.
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
    /// Scaffolded generation (`BlockScaffold`): the sampler writes the blocks' tags.
    public var scaffold: BlockScaffold?
    /// Chunked prefill: while rows are decoding, prompts that join run at most this many
    /// prompt tokens (rows × columns) of prefill per decoding step, so the running rows are
    /// not stalled by a long prompt (nil: a joining prompt prefills whole in one step).
    /// Greedy outputs do not change; a run drawing from one shared seed samples differently.
    public var prefillChunkTokens: Int?
    /// How the decoding steps run: eager; static shapes; or as CUDA graphs (`DecodeSteps`),
    /// which keep every slot of the cache (no trimmed windows).
    public var decodeSteps = DecodeSteps.eager
    /// Whether the KV cache keeps only the window of sliding-window layers (memory about
    /// one window per such layer instead of the whole sequence). On by default; off keeps
    /// every slot, as a reference for tests.
    public var trimsSlidingWindowCache = true

    public init() {}
}

/// One completion.
public struct GeneratedSequence: Sendable, Equatable {
    public enum FinishReason: String, Sendable {
        case stop, length
        /// Ended because nobody waits for it any more (`generate`'s `abandoned`).
        case abandoned
    }
    public let prompt: Int
    public let sample: Int
    public var tokens: [Int]
    /// Log-probability of each token under the temperature-scaled model distribution (before
    /// top-p/top-k truncation): what the trainer's forward pass computes for the same tokens.
    public var logProbs: [Float]
    public var text: String
    public var finishReason: FinishReason
    /// With a scaffold: true for each token the sampler wrote (context, not a choice of the
    /// model); empty without one.
    public var forced: [Bool] = []
    /// With a scaffold: the blocks (by index) that their token budget ended.
    public var budgetEndedBlocks: [Int] = []
}

extension CausalLM {
    /// Samples completions for tokenized prompts of any lengths: the simple form of
    /// `generate(_:tokenizer:observer:)`, every prompt starting at once.
    ///
    /// Prompts are left-padded into one batch (positions count real tokens only) and run
    /// through the model once; each prompt's keys/values are then repeated for its samples.
    /// Decoding appends one token per step to a preallocated cache. Finished sequences are
    /// dropped from the batch as they accumulate. `onText(index, piece)` receives each
    /// completion's text as it grows (index = prompt · samplesPerPrompt + sample).
    /// `promptSeeds` (one per prompt) replaces `options.seed` by a seed per prompt, so each
    /// prompt samples as it would alone.
    public func generate(
        prompts: [[Int]], tokenizer: Tokenizer, options: GenerationOptions, promptSeeds: [UInt64]? = nil,
        onText: ((Int, String) -> Void)? = nil
    ) throws(TorchError) -> [GeneratedSequence] {
        try generate(
            GenerationRequest(prompts: prompts, seeds: promptSeeds, options: options), tokenizer: tokenizer,
            observer: GenerationObserver(text: onText))
    }

    func checkGenerationInput(options: GenerationOptions) throws(TorchError) {
        guard options.maxNewTokens >= 0, options.samplesPerPrompt >= 1 else {
            throw TorchError(operation: "generate", message: "maxNewTokens must be ≥ 0 and samplesPerPrompt ≥ 1")
        }
        if options.decodeSteps == .cudaGraphs, case .cpu = device {
            throw TorchError(
                operation: "generate", message: "decode steps cuda_graphs need a CUDA device; the model is on the CPU (use eager or static)"
            )
        }
        if let chunk = options.prefillChunkTokens, chunk < 1 {
            throw TorchError(operation: "generate", message: "prefillChunkTokens must be at least 1 (nil: no chunking), not \(chunk)")
        }
        guard options.greedy || options.temperature > 0 else {
            throw TorchError(operation: "generate", message: "temperature must be positive (or use greedy)")
        }
        if let scaffold = options.scaffold, scaffold.blocks.isEmpty || scaffold.blocks.contains(where: { $0.budget < 1 }) {
            throw TorchError(operation: "generate", message: "a scaffold needs at least one block, each with a budget of at least 1 token")
        }
    }

    func checkPrompts(_ prompts: [[Int]], firstIndex: Int) throws(TorchError) {
        for (i, p) in prompts.enumerated() where p.isEmpty || p.contains(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TorchError(
                operation: "generate", message: "prompt \(firstIndex + i) is empty or holds an id outside 0..<\(config.vocabSize)")
        }
    }

    /// Repeats each prompt's cache rows and logits row for its samples (row r ← prompt r / samples).
    static func repeatForSamples(_ samples: Int, prompts: Int, cache: KVCache, logits: Tensor) throws(TorchError) -> Tensor {
        guard samples > 1 else { return logits }
        let rows = try Tensor((0..<(prompts * samples)).map { Int64($0 / samples) }).to(logits.device)
        try cache.select(rows: rows)
        return try logits.indexSelect(dim: 0, index: rows)
    }

    /// One decoding step: the last token of every live row → next logits [rows, V].
    func decodeStep(state: GenerationState, cache: KVCache) throws(TorchError) -> Tensor {
        let rows = state.rowOf
        let stepIds = try Tensor(rows.map { Int64(state.results[$0].tokens.last ?? 0) }, shape: [rows.count, 1]).to(device)
        let stepPositions = try Tensor(rows.map { Int64(state.nextPosition[$0] - 1) }, shape: [rows.count, 1]).to(device)
        let stepValid = try Tensor.ones([rows.count, 1], dtype: .bool, device: device)
        return try withNoGrad { () throws(TorchError) -> Tensor in
            let hidden = try hiddenStates(ids: stepIds, positions: stepPositions, valid: stepValid, cache: cache)
            return try self.logits(hidden).squeeze(1)
        }
    }

    /// Picks one token per row of logits [rows, vocab]; returns the tokens [rows, 1] and the
    /// log-probabilities under softmax(logits / temperature) [rows, vocab].
    /// `uniform()` gives the draws [rows, 1] (asked only when sampling, as before).
    func sample(logits: Tensor, options: GenerationOptions, uniform: () throws(TorchError) -> Tensor) throws(TorchError)
        -> (Tensor, Tensor)
    {
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
            chosen = try CausalLM.sampleInverseCDF(probabilities: try filtered.softmax(dim: -1), uniform: try uniform())
        }
        return (chosen, logProbs)
    }

    /// One draw per row of probabilities [rows, vocab] by inverting the cumulative
    /// distribution at a uniform number: the first id whose cumulative probability exceeds
    /// u·total. Exact like `multinomial` (sums in f64), and about 10× faster than ATen's
    /// CPU multinomial over a 49k vocabulary. `uniform`: [rows, 1] float64 in [0, 1).
    /// Returns [rows, 1] int64.
    static func sampleInverseCDF(probabilities: Tensor, uniform: Tensor) throws(TorchError) -> Tensor {
        let vocab = probabilities.shape[1]
        let cdf = try probabilities.to(.float64).cumsum(dim: -1)
        let total = try cdf.narrow(dim: 1, start: vocab - 1, length: 1)
        let u = try uniform * total
        // Count of ids whose cumulative probability is ≤ u = the index of the first one above.
        let index = try cdf.le(u).sum(dims: [1], keepDim: true).clamp(max: Double(vocab - 1)).to(.int64)
        return index
    }

    /// Byte offset where the earliest stop string begins in `text`, looking only at matches
    /// that end after `searchFrom` (the text before was already checked).
    /// Length in UTF-8 bytes of the longest ending of `text` that is the start (not the
    /// whole) of one of `stops`: text that must wait before it is streamed.
    static func stopPrefixLength(_ text: String, stops: [String]) -> Int {
        guard let longest = stops.map(\.utf8.count).max(), longest > 1 else { return 0 }
        let tail = Array(text.utf8.suffix(longest - 1))
        var best = 0
        for stop in stops {
            let pattern = Array(stop.utf8)
            for length in stride(from: min(tail.count, pattern.count - 1), to: best, by: -1)
            where tail[(tail.count - length)...].elementsEqual(pattern[..<length]) {
                best = length
                break
            }
        }
        return best
    }

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

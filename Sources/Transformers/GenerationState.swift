import ModelFormats
import Torch

/// The per-sequence bookkeeping of one `CausalLM.generate` call: tokens, log-probs and text
/// so far, which sequences finished, and which batch row each live sequence occupies.
/// Sequence index = prompt · samplesPerPrompt + sample.
struct GenerationState {
    var results: [GeneratedSequence]
    /// Batch row → sequence index.
    var rowOf: [Int]
    var nextPosition: [Int]
    var finished: [Bool]
    var decoders: [StreamingDecoder]
    /// Finished sequences still occupying a batch row.
    var parked = 0
    let samples: Int
    let stopIds: Set<Int>
    let stopStrings: [String]
    /// Scaffolded generation: the forced texts and each sequence's place in its blocks.
    let scaffold: ScaffoldPlan?
    var cursors: [ScaffoldCursor]

    init(
        prompts: [[Int]], samples: Int, tokenizer: Tokenizer, stopIds: Set<Int>, stopStrings: [String], scaffold: BlockScaffold? = nil
    ) {
        let total = prompts.count * samples
        results = (0..<total).map {
            GeneratedSequence(prompt: $0 / samples, sample: $0 % samples, tokens: [], logProbs: [], text: "", finishReason: .length)
        }
        rowOf = Array(0..<total)
        nextPosition = (0..<total).map { prompts[$0 / samples].count }
        finished = [Bool](repeating: false, count: total)
        decoders = (0..<total).map { _ in tokenizer.streamingDecoder(skipSpecialTokens: true) }
        self.samples = samples
        self.stopIds = stopIds
        self.stopStrings = stopStrings
        let plan = scaffold.map { ScaffoldPlan($0, tokenizer: tokenizer) }
        self.scaffold = plan
        cursors = plan.map { p in (0..<total).map { _ in ScaffoldCursor(start: p.start) } } ?? []
    }

    /// The scaffold's say over each live row's token: a token it writes replaces the sample
    /// (also a stop token sampled inside a block, which the block's closing replaces).
    /// Returns the tokens to take and which of them were written; nil without a scaffold.
    mutating func scaffoldOverrides(_ chosen: [Int]) -> (tokens: [Int], forced: [Bool])? {
        guard let plan = scaffold else { return nil }
        var tokens = chosen
        var forced = [Bool](repeating: false, count: chosen.count)
        for (row, sequence) in rowOf.enumerated() where !finished[sequence] {
            if let written = cursors[sequence].override(sampled: chosen[row], isStop: stopIds.contains(chosen[row]), plan: plan) {
                tokens[row] = written
                forced[row] = true
            }
        }
        return (tokens, forced)
    }

    var allFinished: Bool { finished.allSatisfy { $0 } }

    /// Ends every live sequence of a prompt that `abandoned(prompt)` says nobody waits for
    /// any more (a client that went away): no more compute is spent on it.
    mutating func abandon(where abandoned: (Int) -> Bool) {
        for prompt in 0..<(results.count / samples) where abandoned(prompt) {
            for sequence in (prompt * samples)..<((prompt + 1) * samples) where !finished[sequence] {
                finished[sequence] = true
                results[sequence].finishReason = .abandoned
                parked += 1
            }
        }
    }

    /// Appends each live row's sampled token; ends sequences at a stop id or stop string
    /// (the text is cut before the stop string) and reports new text through `onText`.
    /// With a scaffold, `forced` marks the written tokens; the scaffold ends a sequence after
    /// its last block (stop ids are then never sampled: they close a block instead).
    mutating func accept(_ chosen: [Int], logProbs: [Float], forced: [Bool]? = nil, onText: ((Int, String) -> Void)?) {
        for (row, sequence) in rowOf.enumerated() where !finished[sequence] {
            let token = chosen[row]
            results[sequence].tokens.append(token)
            results[sequence].logProbs.append(logProbs[row])
            nextPosition[sequence] += 1
            if let plan = scaffold {
                acceptScaffolded(token, forced: forced?[row] ?? false, sequence: sequence, plan: plan, onText: onText)
                continue
            }
            if stopIds.contains(token) {
                finish(sequence, reason: .stop)
                results[sequence].text += decoders[sequence].finish()
                continue
            }
            let piece = decoders[sequence].push(token)
            if !piece.isEmpty { appendText(piece, to: sequence, onText: onText) }
        }
    }

    /// Adds decoded text to a sequence and reports it; a stop string in it ends the sequence,
    /// the text cut before the stop string. Returns whether it ended.
    @discardableResult
    private mutating func appendText(_ piece: String, to sequence: Int, onText: ((Int, String) -> Void)?) -> Bool {
        let before = results[sequence].text.utf8.count
        results[sequence].text += piece
        guard let cut = CausalLM.stopCut(results[sequence].text, stops: stopStrings, searchFrom: before) else {
            if !piece.isEmpty { onText?(sequence, piece) }
            return false
        }
        results[sequence].text = String(decoding: Array(results[sequence].text.utf8)[..<cut], as: UTF8.self)
        finish(sequence, reason: .stop)
        if cut > before { onText?(sequence, String(decoding: Array(results[sequence].text.utf8)[before...], as: UTF8.self)) }
        return true
    }

    /// A scaffolded sequence's token: its text (a stop string still ends it, as a server
    /// request's `stop` asks), then the scaffold's bookkeeping, which may end the sequence.
    private mutating func acceptScaffolded(_ token: Int, forced: Bool, sequence: Int, plan: ScaffoldPlan, onText: ((Int, String) -> Void)?) {
        results[sequence].forced.append(forced)
        let piece = decoders[sequence].push(token)
        if appendText(piece, to: sequence, onText: onText) { return }
        guard let end = cursors[sequence].accept(token: token, forced: forced, piece: piece, plan: plan) else { return }
        finish(sequence, reason: end)
        let rest = decoders[sequence].finish()
        results[sequence].text += rest
        if !rest.isEmpty { onText?(sequence, rest) }
    }

    private mutating func finish(_ sequence: Int, reason: GeneratedSequence.FinishReason) {
        if !cursors.isEmpty { results[sequence].budgetEndedBlocks = cursors[sequence].budgetEnded }
        finished[sequence] = true
        results[sequence].finishReason = reason
        parked += 1
    }

    /// Drops finished rows from the batch once they are a quarter of it (each drop copies
    /// the cache, so not after every finish).
    mutating func compact(_ cache: KVCache, device: Device) throws(TorchError) {
        guard parked > 0 && parked * 4 >= rowOf.count else { return }
        let keep = rowOf.indices.filter { !finished[rowOf[$0]] }
        try cache.select(rows: try Tensor(keep.map(Int64.init)).to(device))
        rowOf = keep.map { rowOf[$0] }
        parked = 0
    }

    /// Flushes the decoders of sequences that ran out of tokens.
    mutating func flushUnfinished(onText: ((Int, String) -> Void)?) {
        for i in results.indices where !finished[i] {
            let rest = decoders[i].finish()
            results[i].text += rest
            if !rest.isEmpty { onText?(i, rest) }
        }
    }
}

/// The uniform numbers sampling draws, one per batch row and step: from one generator for the
/// whole call, or — when each prompt has its own seed — from one generator per prompt that
/// draws for all of that prompt's samples every step, so a prompt's completions depend on
/// its seed alone, not on which other prompts share the batch (a server batches requests
/// with different seeds this way).
struct UniformDraws {
    let shared: Generator?
    let perPrompt: [Generator]
    let samples: Int
    let device: Device

    init(seed: UInt64, promptSeeds: [UInt64]?, samples: Int, device: Device) throws(TorchError) {
        if let promptSeeds {
            shared = nil
            perPrompt = try promptSeeds.map { seed throws(TorchError) in try Generator(seed: seed) }
        } else {
            shared = try Generator(seed: seed, device: device)
            perPrompt = []
        }
        self.samples = samples
        self.device = device
    }

    /// [rows, 1] float64 in [0, 1) for the live rows (`rowOf`: row → sequence index).
    func next(rowOf: [Int]) throws(TorchError) -> Tensor {
        if let shared { return try Tensor.rand([rowOf.count, 1], dtype: .float64, device: device, generator: shared) }
        var bySequence: [Double] = []
        bySequence.reserveCapacity(perPrompt.count * samples)
        for generator in perPrompt { bySequence += try Tensor.rand([samples], dtype: .float64, generator: generator).toArray(Double.self) }
        return try Tensor(rowOf.map { bySequence[$0] }, shape: [rowOf.count, 1]).to(device)
    }
}

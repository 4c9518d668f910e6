import ModelFormats
import Torch

/// The per-sequence bookkeeping of one generation run: tokens, log-probs and text so far,
/// which sequences finished, and which batch row each live sequence occupies. Prompts join
/// as they are admitted (continuous batching); sequence index = prompt · samplesPerPrompt +
/// sample, prompts numbered in the order they joined.
struct GenerationState {
    var results: [GeneratedSequence] = []
    /// Batch row → sequence index.
    var rowOf: [Int] = []
    var nextPosition: [Int] = []
    var finished: [Bool] = []
    /// Per sequence: it has a batch row (its prompt's prefill joined the batch).
    var seated: [Bool] = []
    var decoders: [StreamingDecoder] = []
    /// Per sequence: UTF-8 bytes of its text given to `onText` so far.
    var streamed: [Int] = []
    /// Finished sequences still occupying a batch row.
    var parked = 0
    /// Per prompt: its sequences not finished yet.
    var unfinishedOf: [Int] = []
    /// Prompts whose last sequence finished since `takeFinishedPrompts()` was last asked.
    var finishedPrompts: [Int] = []
    let samples: Int
    let tokenizer: Tokenizer
    let stopIds: Set<Int>
    let stopStrings: [String]
    /// Per sequence: it ends (finish reason `length`) after this many tokens.
    var limitOf: [Int] = []
    /// Scaffolded generation: the forced texts and each sequence's place in its blocks.
    let scaffold: ScaffoldPlan?
    var cursors: [ScaffoldCursor] = []

    init(
        samples: Int, tokenizer: Tokenizer, stopIds: Set<Int>, stopStrings: [String], scaffold: BlockScaffold? = nil
    ) {
        self.samples = samples
        self.tokenizer = tokenizer
        self.stopIds = stopIds
        self.stopStrings = stopStrings
        self.scaffold = scaffold.map { ScaffoldPlan($0, tokenizer: tokenizer) }
    }

    var promptCount: Int { unfinishedOf.count }
    /// Rows of sequences still generating.
    var liveRows: Int { rowOf.count - parked }

    /// Rows of finished sequences, which joining prompts may reuse.
    var parkedRows: [Int] { rowOf.indices.filter { finished[rowOf[$0]] } }

    /// Adds prompts (each with `samples` sequences) with their token limits, numbered after
    /// the ones before; their sequences get batch rows when their prefill joins the batch
    /// (`seat`). A prompt with a limit of 0 gets empty completions at once and no rows.
    mutating func admit(_ prompts: [[Int]], limits: [Int]) {
        for (prompt, limit) in zip(prompts, limits) {
            let index = promptCount
            unfinishedOf.append(samples)
            for sample in 0..<samples {
                let sequence = results.count
                results.append(GeneratedSequence(prompt: index, sample: sample, tokens: [], logProbs: [], text: "", finishReason: .length))
                nextPosition.append(prompt.count)
                finished.append(false)
                seated.append(false)
                limitOf.append(limit)
                decoders.append(tokenizer.streamingDecoder(skipSpecialTokens: true))
                streamed.append(0)
                if let plan = scaffold { cursors.append(ScaffoldCursor(start: plan.start)) }
                if limit == 0 { finish(sequence, reason: .length) }
            }
        }
    }

    /// Gives the sequences of `prompts` (admitted, prefilled) batch rows: the `reusing` rows
    /// in order, then rows after the current ones — the order of the joined cache's rows. A
    /// sequence that ended while its prompt prefilled (abandoned) sits in its row parked.
    mutating func seat(prompts: [Int], reusing: ArraySlice<Int> = []) {
        var reusable = reusing
        for prompt in prompts {
            for sequence in (prompt * samples)..<((prompt + 1) * samples) {
                if let row = reusable.popFirst() {
                    rowOf[row] = sequence
                    parked -= 1
                } else {
                    rowOf.append(sequence)
                }
                seated[sequence] = true
                if finished[sequence] { parked += 1 }
            }
        }
    }

    /// Forgets the batch rows once none is generating (the cache goes with them).
    mutating func clearRows() {
        rowOf = []
        parked = 0
    }

    /// Frees a finished prompt's completions and decoders (its entries stay, empty).
    mutating func release(prompt: Int) {
        for sequence in (prompt * samples)..<((prompt + 1) * samples) {
            let r = results[sequence]
            results[sequence] = GeneratedSequence(
                prompt: r.prompt, sample: r.sample, tokens: [], logProbs: [], text: "", finishReason: r.finishReason)
            decoders[sequence] = tokenizer.streamingDecoder(skipSpecialTokens: true)
            streamed[sequence] = 0
        }
        if !cursors.isEmpty {
            for sequence in (prompt * samples)..<((prompt + 1) * samples) { cursors[sequence] = ScaffoldCursor(start: []) }
        }
    }

    /// The prompts finished since the last call, in the order they finished.
    mutating func takeFinishedPrompts() -> [Int] {
        defer { finishedPrompts = [] }
        return finishedPrompts
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

    /// Ends every live sequence of a prompt that `abandoned(prompt)` says nobody waits for
    /// any more (a client that went away): no more compute is spent on it.
    mutating func abandon(where abandoned: (Int) -> Bool) {
        for prompt in 0..<promptCount where unfinishedOf[prompt] > 0 && abandoned(prompt) {
            for sequence in (prompt * samples)..<((prompt + 1) * samples) where !finished[sequence] {
                finish(sequence, reason: .abandoned)
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
            } else if stopIds.contains(token) {
                finish(sequence, reason: .stop)
                results[sequence].text += decoders[sequence].finish()
                report(sequence, onText: onText)
            } else {
                let piece = decoders[sequence].push(token)
                if !piece.isEmpty { appendText(piece, to: sequence, onText: onText) }
            }
            if !finished[sequence] && results[sequence].tokens.count >= limitOf[sequence] { endAtLength(sequence, onText: onText) }
        }
    }

    /// A sequence that used its `maxNewTokens`: its decoder's rest is flushed.
    private mutating func endAtLength(_ sequence: Int, onText: ((Int, String) -> Void)?) {
        results[sequence].text += decoders[sequence].finish()
        finish(sequence, reason: .length)
        report(sequence, onText: onText)
    }

    /// Gives `onText` the sequence's text not given yet: all of it once the sequence has
    /// finished; while it runs, all but an ending that may be the start of a stop string
    /// (held back until the next tokens show whether the stop string follows).
    private mutating func report(_ sequence: Int, onText: ((Int, String) -> Void)?) {
        guard let onText else { return }
        let utf8 = results[sequence].text.utf8
        var end = utf8.count
        if !finished[sequence] { end -= CausalLM.stopPrefixLength(results[sequence].text, stops: stopStrings) }
        guard end > streamed[sequence] else { return }
        let from = utf8.index(utf8.startIndex, offsetBy: streamed[sequence])
        let to = utf8.index(utf8.startIndex, offsetBy: end)
        onText(sequence, String(decoding: utf8[from..<to], as: UTF8.self))
        streamed[sequence] = end
    }

    /// Adds decoded text to a sequence and reports it; a stop string in it ends the sequence,
    /// the text cut before the stop string. Returns whether it ended.
    @discardableResult
    private mutating func appendText(_ piece: String, to sequence: Int, onText: ((Int, String) -> Void)?) -> Bool {
        let before = results[sequence].text.utf8.count
        results[sequence].text += piece
        guard let cut = CausalLM.stopCut(results[sequence].text, stops: stopStrings, searchFrom: before) else {
            report(sequence, onText: onText)
            return false
        }
        results[sequence].text = String(decoding: Array(results[sequence].text.utf8)[..<cut], as: UTF8.self)
        finish(sequence, reason: .stop)
        report(sequence, onText: onText)
        return true
    }

    /// A scaffolded sequence's token: its text (a stop string still ends it, as a server
    /// request's `stop` asks), then the scaffold's bookkeeping, which may end the sequence.
    private mutating func acceptScaffolded(_ token: Int, forced: Bool, sequence: Int, plan: ScaffoldPlan, onText: ((Int, String) -> Void)?)
    {
        results[sequence].forced.append(forced)
        let piece = decoders[sequence].push(token)
        if appendText(piece, to: sequence, onText: onText) { return }
        guard let end = cursors[sequence].accept(token: token, forced: forced, piece: piece, plan: plan) else { return }
        finish(sequence, reason: end)
        results[sequence].text += decoders[sequence].finish()
        report(sequence, onText: onText)
    }

    /// A seated sequence holds its batch row (parked) until the next compaction.
    private mutating func finish(_ sequence: Int, reason: GeneratedSequence.FinishReason) {
        if !cursors.isEmpty { results[sequence].budgetEndedBlocks = cursors[sequence].budgetEnded }
        finished[sequence] = true
        results[sequence].finishReason = reason
        if seated[sequence] { parked += 1 }
        let prompt = sequence / samples
        unfinishedOf[prompt] -= 1
        if unfinishedOf[prompt] == 0 { finishedPrompts.append(prompt) }
    }

    /// Drops finished rows from the batch once they are a quarter of it (each drop copies
    /// the cache, so not after every finish), or whenever any are parked when `force` (new
    /// prompts are about to join).
    mutating func compact(_ cache: KVCache, device: Device, force: Bool = false) throws(TorchError) {
        guard parked > 0 && (force || parked * 4 >= rowOf.count) else { return }
        let keep = rowOf.indices.filter { !finished[rowOf[$0]] }
        try cache.select(rows: try Tensor(keep.map(Int64.init)).to(device))
        rowOf = keep.map { rowOf[$0] }
        parked = 0
    }
}

/// The uniform numbers sampling draws, one per batch row and step: from one generator for the
/// whole call, or — when each prompt has its own seed — from one generator per prompt that
/// draws for all of that prompt's samples every step, so a prompt's completions depend on
/// its seed alone, not on which other prompts share the batch (a server batches requests
/// with different seeds this way, and data-parallel training relies on it).
///
/// Per-prompt numbers are drawn `blockSteps` steps at a time into host memory: one small
/// generator call per prompt per step would cost more than a decoding step on a GPU. The
/// CPU generator's float64 uniforms come out one after another, so a block of K steps is the
/// same numbers as K single steps.
struct UniformDraws {
    let shared: Generator?
    /// One generator per admitted prompt (when prompts bring their own seeds).
    var perPrompt: [Generator] = []
    /// Each prompt's drawn numbers not used yet, `samples` per step.
    var pending: [[Double]] = []
    /// Where the next step's numbers start in `pending[prompt]`.
    var cursor: [Int] = []
    let samples: Int
    let device: Device
    static let blockSteps = 64

    /// `perPromptSeeds`: each admitted prompt brings a seed (`admit(seeds:)`); otherwise one
    /// generator from `seed` draws for the whole run.
    init(seed: UInt64, perPromptSeeds: Bool, samples: Int, device: Device) throws(TorchError) {
        shared = perPromptSeeds ? nil : try Generator(seed: seed, device: device)
        self.samples = samples
        self.device = device
    }

    mutating func admit(seeds: [UInt64]) throws(TorchError) {
        guard shared == nil else { return }
        for seed in seeds {
            perPrompt.append(try Generator(seed: seed))
            pending.append([])
            cursor.append(0)
        }
    }

    /// [rows, 1] float64 in [0, 1) for the batch rows (`rowOf`: row → sequence index). Per
    /// prompt, every prompt with a row takes numbers for all its samples each step, so a
    /// prompt's numbers depend on its seed and its own step count alone.
    mutating func next(rowOf: [Int]) throws(TorchError) -> Tensor {
        if let shared { return try Tensor.rand([rowOf.count, 1], dtype: .float64, device: device, generator: shared) }
        var first: [Int: Int] = [:]  // prompt → index of this step's first number in pending
        for prompt in Set(rowOf.map { $0 / samples }).sorted() {
            if cursor[prompt] + samples > pending[prompt].count {
                pending[prompt] = try Tensor.rand([Self.blockSteps * samples], dtype: .float64, generator: perPrompt[prompt])
                    .toArray(Double.self)
                cursor[prompt] = 0
            }
            first[prompt] = cursor[prompt]
            cursor[prompt] += samples
        }
        let values = rowOf.map { row in first[row / samples].map { pending[row / samples][$0 + row % samples] } ?? 0 }
        return try Tensor(values, shape: [rowOf.count, 1]).to(device)
    }

    /// Forgets a finished prompt's unused numbers (a server's run may admit prompts for days).
    mutating func release(prompt: Int) {
        guard prompt < pending.count else { return }
        pending[prompt] = []
    }
}

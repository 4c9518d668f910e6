import ModelFormats
import Torch

/// When waiting prompts join a generation run whose row count is bounded.
public enum Batching: String, Sendable, CaseIterable, Codable {
    /// A prompt joins as soon as rows for its samples are free: finished sequences' rows are
    /// refilled while the others go on decoding.
    case continuous
    /// Prompts join only when the whole batch has finished (every row idles until the
    /// longest sequence ends).
    case `static`
}

/// A prompt handed to a running generation: its ids and, when the run samples per prompt,
/// its seed.
public struct FedPrompt: Sendable {
    public var ids: [Int]
    public var seed: UInt64
    /// This prompt's completions' token limit (nil: the run's `maxNewTokens`), so requests
    /// that differ only in it share a run.
    public var maxNewTokens: Int?
    public init(ids: [Int], seed: UInt64 = 0, maxNewTokens: Int? = nil) {
        self.ids = ids
        self.seed = seed
        self.maxNewTokens = maxNewTokens
    }
}

/// Where a generation run takes its prompts from. Asked before every decoding step with the
/// rows that are free and whether the batch is idle (no sequence generating); returns the
/// prompts that start now, each taking `samplesPerPrompt` rows (more than are free only when
/// idle). Returning nothing while idle ends the run.
public struct PromptFeed {
    let next: (_ freeRows: Int, _ idle: Bool) -> [FedPrompt]
    public init(_ next: @escaping (_ freeRows: Int, _ idle: Bool) -> [FedPrompt]) { self.next = next }

    /// A fixed list of prompts, handed over in order as their `samples` rows fit (whole
    /// prompts only: their samples share one prefill; the first always fits an idle batch);
    /// with `.static` batching only while the batch is idle.
    public static func queue(_ prompts: [FedPrompt], samples: Int, batching: Batching) -> PromptFeed {
        var next = 0
        return PromptFeed { free, idle in
            var fed: [FedPrompt] = []
            guard idle || batching == .continuous else { return fed }
            while next < prompts.count && ((idle && fed.isEmpty) || (fed.count + 1) * samples <= free) {
                fed.append(prompts[next])
                next += 1
            }
            return fed
        }
    }
}

extension CausalLM {
    /// Generates what `request` asks (see `GenerationRequest`), telling `observer` as it
    /// goes; returns every completion, by prompt (prompt · samplesPerPrompt + sample).
    ///
    /// Each step the request's feed may hand over prompts (a list's, as its scheduler lets
    /// them join; a server's, as they arrive); they are prefilled on their own and join the
    /// batch, their keys and values aligned with the running rows'
    /// (`KVCache.append(rows:reserve:)`), and decode with them from the next step. Prompts
    /// are numbered in the order they came; `observer.finished` hears each prompt as its last
    /// completion ends, so a caller can answer it while the others go on.
    public func generate(_ request: GenerationRequest, tokenizer: Tokenizer, observer: GenerationObserver = GenerationObserver())
        throws(TorchError) -> [GeneratedSequence]
    {
        let options = request.options
        if case .list(let prompts) = request.prompts {
            guard !prompts.isEmpty else { return [] }
            try checkPrompts(prompts.map(\.ids), firstIndex: 0)
            if let seeds = request.seedCount, seeds != prompts.count {
                throw TorchError(operation: "generate", message: "\(seeds) prompt seeds for \(prompts.count) prompts")
            }
        }
        try checkGenerationInput(options: options)
        let (feed, maxRows, abandoned, onText) = (request.feed, request.maxRows, observer.abandoned, observer.text)
        var stopIds = Set(options.stopTokenIds)
        if options.stopAtEOS { stopIds.formUnion(config.eosTokenIds + (tokenizer.eosId.map { [$0] } ?? [])) }
        var run = GenerationRun(
            state: GenerationState(
                samples: options.samplesPerPrompt, tokenizer: tokenizer, stopIds: stopIds, stopStrings: options.stopStrings,
                scaffold: options.scaffold),
            draws: try UniformDraws(
                seed: options.seed, perPromptSeeds: request.perPromptSeeds, samples: options.samplesPerPrompt, device: device),
            prefixes: request.prefixes, graphs: options.decodeSteps == .eager ? nil : DecodeGraphs(mode: options.decodeSteps),
            window: slidingWindowSlots(options))
        func deliver() {
            for prompt in run.state.takeFinishedPrompts() {
                let samples = run.state.samples
                observer.finished?(prompt, Array(run.state.results[(prompt * samples)..<((prompt + 1) * samples)]))
                if request.releasesFinished {
                    run.state.release(prompt: prompt)
                    run.draws.release(prompt: prompt)
                }
            }
        }
        while true {
            let busy = run.state.liveRows + run.joiningRows(samples: options.samplesPerPrompt)
            let fed = feed.next(max(0, maxRows - busy), busy == 0)
            try advance(&run, admitting: fed, options: options)
            deliver()
            guard let logits = run.logits, run.state.liveRows > 0 else {
                if fed.isEmpty && run.joining.isEmpty { break } else { continue }  // (fed prompts with nothing to generate)
            }
            if let abandoned {
                run.state.abandon(where: abandoned)
                // A prefill nobody waits for any more stops.
                let unfinished = run.state.unfinishedOf
                run.joining.removeAll { $0.numbers.allSatisfy { unfinished[$0] == 0 } }
                deliver()
                if run.state.liveRows == 0 { continue }
            }
            try sampleStep(&run, logits: logits, options: options, onText: onText)
            deliver()
        }
        return run.state.results
    }

    /// Brings the batch to the next logits: admits the `fed` prompts and stages their
    /// prefill; drops finished rows; runs one decoding step for the rows still generating;
    /// runs this step's columns of the joining prompts' prefills (`PrefillSchedule`: all of
    /// them unless `options.prefillChunkTokens` bounds it while rows decode) and adds the rows
    /// of those complete (and their last-position logits): into rows of finished sequences
    /// when there are enough and the prompts fit the cache (no copy of the running rows),
    /// else after the running rows. With no rows left and nothing joining, `logits` is nil.
    private func advance(_ run: inout GenerationRun, admitting fed: [FedPrompt], options: GenerationOptions) throws(TorchError) {
        try stage(fed, in: &run, options: options)
        let budget = run.state.liveRows == 0 ? nil : options.prefillChunkTokens
        let columns = PrefillSchedule.columns(groups: run.joining.map { ($0.prefill.rows, $0.prefill.remaining) }, budget: budget)
        let completing = run.joining.indices.filter { columns[$0] >= run.joining[$0].prefill.remaining }
        let joiningRows = completing.map { run.joining[$0].prefill.rows * options.samplesPerPrompt }.reduce(0, +)
        var reuse: [Int] = []
        if run.state.liveRows == 0 {
            (run.cache, run.logits) = (nil, nil)
            run.state.clearRows()
        } else if let cache = run.cache {
            // After this step's token: length + 1 slots filled.
            let longest = completing.flatMap { run.joining[$0].prefill.prompts.map(\.count) }.max() ?? 0
            let fits = longest <= cache.length + 1 && cache.capacity - cache.length - 1 >= run.reserve
            let parked = run.state.parkedRows
            if joiningRows > 0 && fits && parked.count >= joiningRows {
                reuse = Array(parked.prefix(joiningRows))
            } else {
                try run.state.compact(cache, device: device, force: joiningRows > 0)
            }
            if let graphs = run.graphs {
                run.logits = try graphs.step(model: self, state: run.state, cache: cache)
            } else {
                run.logits = try decodeStep(state: run.state, cache: cache)
            }
        }
        for (i, count) in columns.enumerated() where count > 0 { try prefillColumns(&run.joining[i].prefill, count: count) }
        var reused = reuse[...]
        for i in completing {
            let group = run.joining[i]
            let rows = reused.prefix(group.prefill.rows * options.samplesPerPrompt)
            reused = reused.dropFirst(rows.count)
            try join(group, into: &run, reusing: rows, samples: options.samplesPerPrompt)
        }
        run.joining = run.joining.indices.filter { !completing.contains($0) }.map { run.joining[$0] }
    }

    /// Admits `fed` prompts to the run's bookkeeping and stages the prefill of those with
    /// something to generate (one group: they prefill together).
    private func stage(_ fed: [FedPrompt], in run: inout GenerationRun, options: GenerationOptions) throws(TorchError) {
        try checkPrompts(fed.map(\.ids), firstIndex: run.state.promptCount)
        let longestScaffolded = run.state.scaffold?.longestCompletion ?? 0
        let limits = fed.map { $0.maxNewTokens ?? options.maxNewTokens }.map { $0 > 0 ? max($0, longestScaffolded) : 0 }
        let first = run.state.promptCount
        run.state.admit(fed.map(\.ids), limits: limits)
        try run.draws.admit(seeds: fed.map(\.seed))
        let generating = fed.indices.filter { limits[$0] > 0 }
        guard !generating.isEmpty else { return }  // nothing fed, or nothing to generate: empty completions
        run.reserve = max(run.reserve, limits.max() ?? 0)
        let prefill = try stagePrefill(
            prompts: generating.map { fed[$0].ids }, reserve: run.reserve, prefixes: run.prefixes, window: run.window)
        run.joining.append(JoiningPrompts(prefill: prefill, numbers: generating.map { first + $0 }))
    }

    /// Adds a complete prefill's rows to the batch: into the `reusing` rows (when there are
    /// as many as it has rows), else after the running rows.
    private func join(_ group: JoiningPrompts, into run: inout GenerationRun, reusing rows: ArraySlice<Int>, samples: Int)
        throws(TorchError)
    {
        let (fresh, freshLogits) = try finishPrefill(group.prefill, samples: samples, prefixes: run.prefixes)
        run.state.seat(prompts: group.numbers, reusing: rows)
        if let cache = run.cache, let logits = run.logits, !rows.isEmpty {
            try cache.place(fresh, intoRows: Array(rows))
            for (i, row) in rows.enumerated() {
                try logits.narrow(dim: 0, start: row, length: 1).copy_(freshLogits.narrow(dim: 0, start: i, length: 1))
            }
        } else if let cache = run.cache, let logits = run.logits {
            // Twice the reserve: room for later prompts to join into finished rows (`place`)
            // before the cache has to grow again.
            try cache.append(rows: fresh, reserve: 2 * run.reserve)
            run.logits = try Tensor.cat([logits, freshLogits], dim: 0)
        } else {
            (run.cache, run.logits) = (fresh, freshLogits)
        }
    }

    /// Samples one token for every row from `logits`, lets the scaffold override it, and
    /// hands the tokens with their log-probs to the bookkeeping.
    private func sampleStep(_ run: inout GenerationRun, logits: Tensor, options: GenerationOptions, onText: ((Int, String) -> Void)?)
        throws(TorchError)
    {
        let rows = run.state.rowOf
        let (chosen, logProbs) = try withNoGrad { () throws(TorchError) -> (Tensor, Tensor) in
            try sample(logits: logits, options: options, uniform: { () throws(TorchError) in try run.draws.next(rowOf: rows) })
        }
        var tokens = try chosen.squeeze(1).to(.int64).toArray(Int64.self).map { Int($0) }
        var forced: [Bool]?
        if let written = run.state.scaffoldOverrides(tokens) { (tokens, forced) = written }
        let index = forced == nil ? chosen : try Tensor(tokens.map(Int64.init), shape: [tokens.count, 1]).to(device)
        let picked = try logProbs.gather(dim: -1, index: index).squeeze(1).toArray(Float.self)
        run.state.accept(tokens, logProbs: picked, forced: forced, onText: onText)
    }
}

/// What a generation run carries from step to step.
struct GenerationRun {
    var state: GenerationState
    var draws: UniformDraws
    /// Prompts remembered for prefix reuse (nil: every prompt is prefilled whole).
    let prefixes: PromptPrefixCache?
    /// The static or graphed decoding steps (nil: eager steps).
    let graphs: DecodeGraphs?
    /// The layers whose cached keys may be trimmed to their window (nil: none).
    let window: SlidingWindowSlots?
    /// Keys and values of the rows in `state.rowOf` (nil while no row is generating).
    var cache: KVCache?
    /// Next-token logits of those rows, [rows, vocab].
    var logits: Tensor?
    /// The largest token limit admitted, which bounds what any row still needs: a cache
    /// keeps at least this many free slots after its filled ones.
    var reserve = 0
    /// Prompts admitted whose prefill has not joined the batch yet, in the order they came.
    var joining: [JoiningPrompts] = []
    /// The batch rows the joining prompts' samples will take.
    func joiningRows(samples: Int) -> Int { joining.map { $0.prefill.rows * samples }.reduce(0, +) }
}

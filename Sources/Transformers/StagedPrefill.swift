import Torch

/// Prompts whose prefill is under way (chunked prefill, as vLLM's): they run through the model
/// together, left-padded to the longest, a number of columns at a time into their own cache,
/// so that a running batch's decoding steps go on between the chunks. Unchunked prefill is
/// the same value run in one chunk.
///
/// What a prefix cache already holds is filled in first; only the rest is run.
struct StagedPrefill {
    /// The prompts, whole (for the prefix cache).
    let prompts: [[Int]]
    let cache: KVCache
    /// The rests after the reused prefix, left-padded: ids and positions [P, columns];
    /// validity [P, columns] only when the rests differ in length.
    let ids: Tensor
    let positions: Tensor
    let valid: Tensor?
    let columns: Int
    /// The reused prefix (nil: none).
    let match: PromptPrefixCache.Match?
    /// Columns run so far.
    fileprivate(set) var done = 0
    /// The last column's logits [P, V], once every column has run.
    fileprivate(set) var lastLogits: Tensor?

    var remaining: Int { columns - done }
    var isComplete: Bool { lastLogits != nil }
    var rows: Int { prompts.count }
}

extension CausalLM {
    /// The layers whose cached keys a generation with `options` may trim to their window,
    /// nil when none (static and graphed steps keep every slot).
    func slidingWindowSlots(_ options: GenerationOptions) -> SlidingWindowSlots? {
        guard options.trimsSlidingWindowCache, options.decodeSteps == .eager, let size = config.slidingWindow,
            config.slidingLayers.contains(true)
        else { return nil }
        return SlidingWindowSlots(size: size, layers: (0..<config.layerCount).map(config.slides))
    }

    /// Sets up the prefill of `prompts` into a new cache with `reserve` free slots after the
    /// longest, reusing what `prefixes` remembers: prompts that all equal a remembered one
    /// run no column; prompts that all start with a remembered prefix run only what follows.
    /// `window`: the sliding-window layers whose cache keeps only their window (nil: none).
    func stagePrefill(prompts: [[Int]], reserve: Int, prefixes: PromptPrefixCache?, window: SlidingWindowSlots?) throws(TorchError)
        -> StagedPrefill
    {
        let longest = prompts.map(\.count).max() ?? 0
        let cache = try KVCache(
            layers: config.layerCount, batch: prompts.count, kvHeads: config.kvHeadCount, headDim: config.headDim,
            capacity: longest + reserve, dtype: dtype, device: device, window: window)
        // Windowed layers mask by slot distance, so the rests may not be left-padded behind a
        // prefix (a gap of padding would shift their windows): reuse needs equal lengths there.
        let windowed = window?.layers.contains(true) == true
        let match = prefixes == nil || (windowed && Set(prompts.map(\.count)).count > 1) ? nil : prefixes?.match(prompts)
        if let match { try cache.fill(prefixKeys: match.entry.keys, prefixValues: match.entry.values, length: match.length) }
        cache.holdsWindowedSlots = prefixes != nil  // (remembered at the end: `finishPrefill`)
        let shared = match?.whole == true ? longest : match?.length ?? 0
        let rests = prompts.map { Array($0[shared...]) }
        let width = rests.map(\.count).max() ?? 0
        var ids = [Int64]()
        var valid = [Bool]()
        for rest in rests {
            ids += [Int64](repeating: 0, count: width - rest.count) + rest.map(Int64.init)
            valid += [Bool](repeating: false, count: width - rest.count) + [Bool](repeating: true, count: rest.count)
        }
        let padded = width != rests.map(\.count).min()
        let validTensor = try Tensor(valid, shape: [prompts.count, width]).to(device)
        var positions = try CausalLM.positions(valid: padded ? validTensor : nil, batch: prompts.count, time: width, device: device)
        if shared > 0 { positions = try (positions + Double(shared)).to(.int64) }
        var staged = StagedPrefill(
            prompts: prompts, cache: cache, ids: try Tensor(ids, shape: [prompts.count, width]).to(device), positions: positions,
            valid: padded ? validTensor : nil, columns: width, match: match)
        if let match, match.whole {
            staged.lastLogits = try match.entry.logits.expand([prompts.count, match.entry.logits.shape[1]]).contiguous()
        }
        return staged
    }

    /// Runs the next `count` columns, rounded by `PrefillSchedule.runs` (a lone column of
    /// left padding would attend to nothing); after the last, keeps its logits.
    func prefillColumns(_ staged: inout StagedPrefill, count: Int) throws(TorchError) {
        let take = PrefillSchedule.runs(asked: count, remaining: staged.remaining)
        guard take > 0 else { return }
        let start = staged.done
        let whole = start == 0 && take == staged.columns
        func part(_ t: Tensor) throws(TorchError) -> Tensor { whole ? t : try t.narrow(dim: 1, start: start, length: take).contiguous() }
        let ids = try part(staged.ids)
        let positions = try part(staged.positions)
        let valid = try staged.valid.map { (v) throws(TorchError) in try part(v) }
        let last = try withNoGrad { () throws(TorchError) -> Tensor? in
            let hidden = try hiddenStates(ids: ids, positions: positions, valid: valid, cache: staged.cache)
            guard start + take == staged.columns else { return nil }
            return try self.logits(hidden.narrow(dim: 1, start: take - 1, length: 1)).squeeze(1)  // [P, V]
        }
        staged.done += take
        if let last { staged.lastLogits = last }
    }

    /// The finished prefill: remembers each prompt in `prefixes` and repeats each prompt's
    /// cache rows and logits for its samples (row r ← prompt r / samples). Returns the cache
    /// and the last logits [P · samples, V].
    func finishPrefill(_ staged: StagedPrefill, samples: Int, prefixes: PromptPrefixCache?) throws(TorchError) -> (KVCache, Tensor) {
        guard let logits = staged.lastLogits else {
            throw TorchError(operation: "generate", message: "a prefill was joined before its last column ran")
        }
        if let prefixes, staged.match?.whole != true {
            try remember(staged.prompts, in: staged.cache, logits: logits, after: staged.match, into: prefixes)
        }
        staged.cache.holdsWindowedSlots = false
        return (staged.cache, try CausalLM.repeatForSamples(samples, prompts: staged.rows, cache: staged.cache, logits: logits))
    }
}

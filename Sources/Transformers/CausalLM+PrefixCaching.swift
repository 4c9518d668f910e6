import Torch

extension CausalLM {
    /// Prefills `prompts` into a new cache with `reserve` free slots after the longest and
    /// repeats rows for `samples` (as `prefill`), reusing what `prefixes` remembers: prompts
    /// that all equal a remembered one are not run; prompts that all start with a remembered
    /// prefix run only what follows it. Each prompt run is remembered. Returns the cache and
    /// the last logits [P · samples, V].
    func prefillNew(prompts: [[Int]], samples: Int, reserve: Int, prefixes: PromptPrefixCache?) throws(TorchError) -> (KVCache, Tensor) {
        let longest = prompts.map(\.count).max() ?? 0
        let cache = try KVCache(
            layers: config.layerCount, batch: prompts.count, kvHeads: config.kvHeadCount, headDim: config.headDim,
            capacity: longest + reserve, dtype: dtype, device: device, window: slidingWindowSlots)
        guard let prefixes else { return (cache, try prefill(prompts: prompts, samples: samples, cache: cache)) }
        // Windowed layers mask by slot distance, so the rests may not be left-padded behind a
        // prefix (a gap of padding would shift their windows): reuse needs equal lengths there.
        let windowed = slidingWindowSlots?.layers.contains(true) == true
        let match = windowed && Set(prompts.map(\.count)).count > 1 ? nil : prefixes.match(prompts)
        if let match { try cache.fill(prefixKeys: match.entry.keys, prefixValues: match.entry.values, length: match.length) }
        if let match, match.whole {
            let logits = try match.entry.logits.expand([prompts.count, match.entry.logits.shape[1]]).contiguous()
            return (cache, try CausalLM.repeatForSamples(samples, prompts: prompts.count, cache: cache, logits: logits))
        }
        let shared = match?.length ?? 0
        let rests = prompts.map { Array($0[shared...]) }
        let logits = try prefill(prompts: rests, samples: 1, cache: cache, prefix: shared)
        try remember(prompts, in: cache, logits: logits, after: match, into: prefixes)
        return (cache, try CausalLM.repeatForSamples(samples, prompts: prompts.count, cache: cache, logits: logits))
    }

    /// Hands each just-prefilled prompt's keys and values (the match's shared prefix, then its
    /// own slots at the end of its row) and last logits to `prefixes`.
    private func remember(_ prompts: [[Int]], in cache: KVCache, logits: Tensor, after match: PromptPrefixCache.Match?, into prefixes: PromptPrefixCache)
        throws(TorchError)
    {
        let shared = match?.length ?? 0
        var seen = Set<[Int]>()
        for (row, prompt) in prompts.enumerated() where seen.insert(prompt).inserted && !prefixes.holds(prompt) {
            let own = try cache.slots(row: row, from: cache.length - (prompt.count - shared), count: prompt.count - shared)
            var (keys, values) = own
            if let match {
                for layer in keys.indices {
                    keys[layer] = try Tensor.cat([match.entry.keys[layer].narrow(dim: 2, start: 0, length: shared), keys[layer]], dim: 2)
                    values[layer] = try Tensor.cat([match.entry.values[layer].narrow(dim: 2, start: 0, length: shared), values[layer]], dim: 2)
                }
            }
            prefixes.remember(ids: prompt, keys: keys, values: values, logits: try logits.narrow(dim: 0, start: row, length: 1).clone())
        }
    }
}

import Torch

extension CausalLM {
    /// Hands each just-prefilled prompt's keys and values (the match's shared prefix, then its
    /// own slots at the end of its row) and last logits to `prefixes`.
    func remember(
        _ prompts: [[Int]], in cache: KVCache, logits: Tensor, after match: PromptPrefixCache.Match?, into prefixes: PromptPrefixCache
    )
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
                    values[layer] = try Tensor.cat(
                        [match.entry.values[layer].narrow(dim: 2, start: 0, length: shared), values[layer]], dim: 2)
                }
            }
            prefixes.remember(ids: prompt, keys: keys, values: values, logits: try logits.narrow(dim: 0, start: row, length: 1).clone())
        }
    }
}

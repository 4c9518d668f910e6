import IAPCore
import Transformers

extension RolloutFormat {
    /// The block names in the order the `tags` scaffold writes them.
    public static let blockNames = ["think", "intent", "think", "answer"]

    /// The sampler's part of a `tags` rollout: `<think>` … `</think>`, `<intent>` … and so
    /// on, each tag on its own line, the model writing what is between (nil for `none`). The
    /// intent block opens with "1." — the start of the numbered list the format asks for, so
    /// the model continues a list rather than deciding whether to begin one.
    public var blockScaffold: BlockScaffold? {
        guard scaffold == .tags else { return nil }
        let blocks = zip(Self.blockNames, blockBudgets).map { name, budget in
            BlockScaffold.Block(opening: "<\(name)>\n" + (name == "intent" ? "1." : ""), closing: "</\(name)>", budget: budget)
        }
        return BlockScaffold(blocks: blocks, separator: "\n")
    }

    /// "<intent> ended by its 64-token budget; …" for the blocks a budget cut (nil when none).
    public func budgetNote(_ blocks: [Int]) -> String? {
        guard !blocks.isEmpty else { return nil }
        return blocks.map { b in
            let name = b < Self.blockNames.count ? Self.blockNames[b] : "block \(b)"
            let budget = b < blockBudgets.count ? blockBudgets[b] : 0
            return "<\(name)> ended by its \(budget)-token budget"
        }.joined(separator: "; ")
    }
}

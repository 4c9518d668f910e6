import ModelFormats

/// Scaffolded generation: the sampler writes each block's opening and closing text, the
/// model writes only the blocks' contents. A block ends when the model writes its closing
/// text, samples a stop token (EOS) inside it, or has sampled `budget` tokens in it; the
/// sampler then writes what is missing — the closing text, `separator` and the next
/// block's opening. The last block's end ends the completion.
///
/// Written tokens are context, not choices of the model: `GeneratedSequence.forced` marks
/// them, and a trainer leaves them out of its loss. Their log-probs are still reported (what
/// the model gives the written token), so a training forward over the whole sequence agrees
/// with the generation at every position.
public struct BlockScaffold: Sendable, Equatable, Codable {
    public struct Block: Sendable, Equatable, Codable {
        public var opening: String
        public var closing: String
        /// Tokens the model may sample in this block before the sampler closes it.
        public var budget: Int

        public init(opening: String, closing: String, budget: Int) {
            self.opening = opening
            self.closing = closing
            self.budget = budget
        }
    }

    public var blocks: [Block]
    /// Written between a block's closing text and the next block's opening.
    public var separator: String

    public init(blocks: [Block], separator: String = "\n") {
        self.blocks = blocks
        self.separator = separator
    }
}

/// The scaffold's forced texts as token ids, encoded once per `generate` call.
struct ScaffoldPlan {
    let blocks: [BlockScaffold.Block]
    /// The first block's opening.
    let start: [Int]
    /// After the model wrote block i's closing text itself: separator + next opening
    /// (empty for the last block).
    let afterModelClose: [[Int]]
    /// After the sampler ends block i (stop token or budget): closing + separator + next opening.
    let afterForcedClose: [[Int]]

    init(_ scaffold: BlockScaffold, tokenizer: Tokenizer) {
        let blocks = scaffold.blocks
        self.blocks = blocks
        start = blocks.first.map { tokenizer.encode($0.opening) } ?? []
        var model: [[Int]] = []
        var forced: [[Int]] = []
        for i in blocks.indices {
            let next = i + 1 < blocks.count ? scaffold.separator + blocks[i + 1].opening : ""
            model.append(next.isEmpty ? [] : tokenizer.encode(next))
            forced.append(tokenizer.encode(blocks[i].closing + next))
        }
        afterModelClose = model
        afterForcedClose = forced
    }

    /// The most tokens a scaffolded completion can take: every block's budget and every
    /// written text. `generate` runs at least this long so the last block is always closed.
    var longestCompletion: Int {
        start.count + blocks.map(\.budget).reduce(0, +)
            + zip(afterForcedClose, afterModelClose).map { max($0.count, $1.count) }.reduce(0, +)
    }
}

/// Where one scaffolded completion stands: its block, what the model wrote in it, and the
/// written tokens still to come.
struct ScaffoldCursor {
    var block = 0
    var sampledInBlock = 0
    var blockText = ""
    /// Tokens the sampler writes next, in order.
    var pending: [Int]
    /// Set when the pending tokens close the last block: how the completion then ends.
    var endsAs: GeneratedSequence.FinishReason?
    var budgetEnded: [Int] = []

    init(start: [Int]) { pending = start }

    /// The token at this step: the next written one, or — when the model sampled a stop
    /// token inside a block — the first of that block's closing tokens. nil: the sample stands.
    mutating func override(sampled: Int, isStop: Bool, plan: ScaffoldPlan) -> Int? {
        if pending.isEmpty && isStop { closeByScaffold(plan: plan, reason: .stop) }
        return pending.first
    }

    /// The sampler closes the current block (a stop token, or the budget: `reason` is then
    /// `length` for the last block) and queues the next opening.
    mutating func closeByScaffold(plan: ScaffoldPlan, reason: GeneratedSequence.FinishReason) {
        pending = plan.afterForcedClose[block]
        advance(plan: plan, endingAs: reason)
    }

    /// Takes a token into the cursor (forced or sampled, with its decoded text). Returns how
    /// the completion ends when it does.
    mutating func accept(token: Int, forced: Bool, piece: String, plan: ScaffoldPlan) -> GeneratedSequence.FinishReason? {
        if forced {
            pending.removeFirst()
            return pending.isEmpty ? endsAs : nil
        }
        sampledInBlock += 1
        let before = blockText.utf8.count
        blockText += piece
        if CausalLM.stopCut(blockText, stops: [plan.blocks[block].closing], searchFrom: before) != nil {
            pending = plan.afterModelClose[block]
            advance(plan: plan, endingAs: .stop)
            return pending.isEmpty ? endsAs : nil
        }
        if sampledInBlock >= plan.blocks[block].budget {
            budgetEnded.append(block)
            closeByScaffold(plan: plan, reason: .length)
        }
        return nil
    }

    private mutating func advance(plan: ScaffoldPlan, endingAs reason: GeneratedSequence.FinishReason) {
        if block == plan.blocks.count - 1 {
            endsAs = reason
        } else {
            block += 1
            sampledInBlock = 0
            blockText = ""
        }
    }
}

extension GenerationOptions {
    /// The most new tokens one completion under these options can take, as `generate` runs
    /// it: `maxNewTokens`, raised with a scaffold to its budgets plus the tags it writes.
    public func longestCompletion(tokenizer: Tokenizer) -> Int {
        max(maxNewTokens, scaffold.map { ScaffoldPlan($0, tokenizer: tokenizer).longestCompletion } ?? 0)
    }
}

import FileIO
import JSONFiles

/// `rollout.scaffold`: who writes the four blocks' tags. `none`: the model writes the whole
/// reply (the paper); `tags`: the sampler writes `<think>`, `</think>`, `<intent>`, … and the
/// model only the blocks' contents (a model that does not yet know the format).
public enum ScaffoldMode: String, ConfigChoice {
    case none, tags
}

/// How a policy writes its replies, saved with every checkpoint (`iap_rollout.json`) so that
/// answering with a trained model (`iap answer`, `iap ask`, `iap serve`) uses the scaffold
/// and prefill it was trained with.
public struct RolloutFormat: Codable, Sendable, Equatable {
    public var scaffold: ScaffoldMode
    /// Sampled tokens per block (think, intent, think, answer) under the `tags` scaffold.
    public var blockBudgets: [Int]
    public var prefill: String
    /// The rollout prompt the policy was trained with (nil: the built-in one, or a file
    /// written before prompts were saved); `iap answer` and `iap ask` ask it the same way.
    public var prompt: RolloutPrompt?

    public static let fileName = "iap_rollout.json"

    public init(scaffold: ScaffoldMode, blockBudgets: [Int], prefill: String, prompt: RolloutPrompt? = nil) {
        self.scaffold = scaffold
        self.blockBudgets = blockBudgets
        self.prefill = prefill
        self.prompt = prompt
    }

    public init(_ rollout: TrainConfig.Rollout, prompt: RolloutPrompt? = nil) {
        self.init(scaffold: rollout.scaffold, blockBudgets: rollout.blockBudgets, prefill: rollout.prefill, prompt: prompt)
    }

    enum CodingKeys: String, CodingKey {
        case scaffold
        case blockBudgets = "block_budgets"
        case prefill, prompt
    }

    /// The format saved in a model folder; nil when the folder has none (a model we did not train).
    public static func saved(inModelFolder folder: String) throws(JSONFileError) -> RolloutFormat? {
        let path = folder + "/" + fileName
        guard FileSystem.exists(path) else { return nil }
        let format = try JSONFile.read(RolloutFormat.self, from: path)
        if let problem = format.problem { throw JSONFileError(path: path, reason: problem) }
        return format
    }

    /// What is wrong with the budgets, named like the config key.
    public var problem: String? {
        if let prompt, !(prompt.system + prompt.user).contains("{input}") { return "prompt: the saved prompt has no {input}" }
        guard scaffold == .tags else { return nil }
        if blockBudgets.count != 4 { return "block_budgets: four numbers (think, intent, think, answer), got \(blockBudgets.count)" }
        if let bad = blockBudgets.first(where: { $0 < 1 }) { return "block_budgets: each at least 1, got \(bad)" }
        return nil
    }
}

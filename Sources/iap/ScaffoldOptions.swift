import ArgumentParser
import CommandSupport
import IAP
import IAPCore

/// `--scaffold auto|none|tags`: as the model was trained, or which side writes the IAP tags.
enum ScaffoldChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, none, tags
}

/// `--scaffold` and `--block-budgets` of the commands that answer with a policy: by default
/// a model is asked the way it was trained (the `iap_rollout.json` that `iap train` saves
/// with every checkpoint), any other model without a scaffold.
struct ScaffoldOptions: ParsableArguments {
    @Option(
        help:
            "Who writes the IAP tags: auto (as the model was trained, else none), none, or tags (the sampler writes them, the model the blocks' contents)."
    )
    var scaffold = ScaffoldChoice.auto

    @Option(help: "With tags: sampled tokens per block, think,intent,think,answer (default: the model's, else 256,256,256,1024).")
    var blockBudgets: String?

    func validate() throws {
        if let blockBudgets { _ = try budgets(blockBudgets) }
    }

    private func budgets(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, values.count == 4, values.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--block-budgets \(text): four whole numbers of at least 1, e.g. 64,64,64,256")
        }
        return values
    }

    /// The format to answer `model` with; `prefill` (a flag) wins over the saved one when given.
    /// `model`: the folder whose iap_rollout.json (written by training) says how the model
    /// writes its replies — the adapter folder for a LoRA-trained model.
    func format(model: String, prefill: String = "") throws -> RolloutFormat {
        let saved: RolloutFormat?
        do { saved = try RolloutFormat.saved(inModelFolder: model) } catch { throw CLI.failure(error) }
        var format = saved ?? RolloutFormat(TrainConfig.Rollout())
        if scaffold != .auto { format.scaffold = scaffold == .tags ? .tags : .none }
        if let blockBudgets { format.blockBudgets = try budgets(blockBudgets) }
        if format.scaffold == .tags {
            guard prefill.isEmpty else { throw CLI.failure("--prefill: leave it out with the tags scaffold (it writes <think> itself)") }
            format.prefill = ""
        } else if !prefill.isEmpty {
            format.prefill = prefill
        }
        if let problem = format.problem { throw CLI.failure("--\(problem.replacingOccurrences(of: "_", with: "-"))") }
        return format
    }
}

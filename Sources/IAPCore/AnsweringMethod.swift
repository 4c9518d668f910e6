import LaMPQACore
/// How a model is asked to answer: the IAP rollout (the `<answer>` block is the response) or
/// one of the baseline prompts (the text after "Final answer:").
public enum AnsweringMethod: Sendable, Equatable {
    case iap(prefill: String)
    case baseline(BaselineMethod)

    /// `iap` or a baseline's name.
    public init?(name: String, prefill: String = "") {
        if name == "iap" {
            self = .iap(prefill: prefill)
        } else if let baseline = BaselineMethod(rawValue: name) {
            self = .baseline(baseline)
        } else {
            return nil
        }
    }

    public static let names = ["iap"] + BaselineMethod.allCases.map(\.rawValue)

    public var defaultPrompt: RolloutPrompt {
        switch self {
        case .iap: .standard
        case .baseline(let b): b.prompt
        }
    }

    /// What the model is shown under this method: the non-personalized baseline sees the
    /// question only (no user information at all), every other method what `mode` says.
    public func input(_ mode: PolicyInputMode) -> PolicyInputMode {
        self == .baseline(.nonPersonalized) ? .questionOnly : mode
    }

    /// Why a setting given for this method would be silently ignored (nil when none is):
    /// `input` (what the model is shown), `intents` (an intents file), `replyFormat` (the IAP
    /// reply's prefill, scaffold or block budgets). A flag that changes nothing is an error.
    public func ignoredSetting(input: Bool, intents: Bool, replyFormat: Bool) -> String? {
        if input && self == .baseline(.nonPersonalized) {
            return "--input: the non-personalized method shows the model the question alone; leave --input out"
        }
        if intents && self != .baseline(.explicitIntent) { return "--intents: only --method explicit-intent reads an intents file" }
        if replyFormat, case .baseline = self {
            return "--prefill, --scaffold and --block-budgets shape the IAP reply: only --method iap uses them"
        }
        return nil
    }
}

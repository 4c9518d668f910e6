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
}

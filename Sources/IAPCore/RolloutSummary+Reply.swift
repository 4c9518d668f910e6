import OpenAIWire

extension RolloutSummary {
    /// What an IAP rollout inferred, for the `iap` field of `iap serve`'s replies: nil when
    /// the reply is not one (it has no `<intent>` block).
    public init?(reply: String) {
        let parsed = RolloutParser.parse(reply)
        guard parsed.intent != nil else { return nil }
        self.init(intents: parsed.intents, answer: parsed.answer, valid: parsed.isValid, problem: parsed.problem)
    }
}

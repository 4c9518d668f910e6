/// How an IAP model's replies to a split parsed: the format statistics `iap answer` prints
/// and the report shows beside the scores. A reply whose intent block copies the prompt or
/// repeats a line counts as malformed, and as "copied or repeated".
public struct ReplyFormatSummary: Sendable, Equatable {
    public var replies = 0
    public var valid = 0
    public var copiedPrompt = 0
    public var repeatedLines = 0

    public init(_ entries: some Sequence<InferredIntents>) {
        for entry in entries {
            replies += 1
            if entry.valid { valid += 1 }
            if entry.degeneration == .copiesPrompt { copiedPrompt += 1 }
            if entry.degeneration == .repeatedLines { repeatedLines += 1 }
        }
    }

    /// The fraction of replies with a block that copies the prompt or repeats a line.
    public var copiedOrRepeatedFraction: Double {
        replies == 0 ? 0 : Double(copiedPrompt + repeatedLines) / Double(replies)
    }

    /// "33 of 36 replies well-formed; 2 copy the prompt, 1 repeats lines (8.3 % copied or repeated)".
    public var line: String {
        let percent = (copiedOrRepeatedFraction * 1000).rounded() / 10
        return "\(valid) of \(replies) replies well-formed; \(copiedPrompt) copy the prompt, \(repeatedLines) repeat lines "
            + "(\(percent) % copied or repeated)"
    }
}

import Testing

@testable import IAPCore

/// Issue 29: a block that reads the prompt back or loops on one line is malformed, with a
/// verdict of its own; ordinary replies are not.
@Suite struct BlockDegenerationTests {
    let echo = PromptEcho(.standard)

    func rollout(intent: String, answer: String = "Buy a second-hand one and practise daily.") -> String {
        "<think>They are short of money.</think><intent>\(intent)</intent><think>Suggest cheap options.</think><answer>\(answer)</answer>"
    }

    /// What the demo's trained policy wrote (seed 0, before this issue): the instruction, read back.
    @Test func intentsThatCopyTheInstructionAreMalformed() {
        let copied = rollout(
            intent:
                "1. A numbered list of the person's most likely underlying intents, one per line: 1.\n2. A numbered list of the person's")
        let r = RolloutParser.parse(copied, echo: echo)
        #expect(!r.isValid && r.degeneration == .copiesPrompt && r.problem == "<intent> copies the prompt")
        // Cut to six words by a budget, in other capitals and punctuation: still a copy.
        let cut = RolloutParser.parse(rollout(intent: "1. **A NUMBERED list of the person's** ..."), echo: echo)
        #expect(cut.degeneration == .copiesPrompt)
        let answer = RolloutParser.parse(
            rollout(intent: "1. Save money", answer: "The answer itself, written for this person. Buy used."), echo: echo)
        #expect(answer.degeneration == .copiesPrompt && answer.problem == "<answer> copies the prompt")
        // Without the prompt's words (a caller that has none), copying cannot be told (the
        // second item, a cut copy of the first, still repeats it).
        #expect(RolloutParser.parse(copied).degeneration == .repeatedLines)
    }

    @Test func ordinaryRepliesAreNotCopies() {
        let fine = rollout(intent: "1. Keep the cost low\n2. Learn the person's most likely next step\n3. Practise without getting bored")
        let r = RolloutParser.parse(fine, echo: echo)
        #expect(r.isValid && r.degeneration == nil, "\(r.problem ?? "")")
        // The question filled into {input} is not the prompt's own text: no n-gram spans it.
        let prompt = RolloutPrompt(
            system: "Answer in four tagged blocks.", user: "Here is a question for you: {input} Please think it through very carefully")
        let withQuestion = PromptEcho(prompt)
        #expect(!withQuestion.isCopied(in: "a question for you please think it through"))
        #expect(withQuestion.isCopied(in: "Please think it through very carefully, then answer."))
        #expect(!PromptEcho(texts: []).isCopied(in: "anything at all here and there"))
    }

    @Test(arguments: [
        "1. Embrace your limitations\n2. Plan ahead\n3. Embrace your limitations",  // an item twice
        "1. **Don't assume you're entitled**\n2. **Don't assume you're entitled",  // markup aside, the same
        "1. I am a complete beginner and have never tried\n2. I am a complete beginner and",  // the same, cut by the budget
        "1. I'm <thought> I'm <thought> I'm <thought> I'm <thought> I'm",  // a loop inside one item
    ])
    func intentListsThatRepeatAreMalformed(intent: String) {
        let r = RolloutParser.parse(rollout(intent: intent), echo: echo)
        #expect(
            !r.isValid && r.degeneration == .repeatedLines && r.problem == "repeated lines in <intent>",
            "\(intent): \(r.problem ?? "valid")")
    }

    @Test func answersThatLoopAreMalformedButRepeatedWordsAreNot() {
        let loop = "I'm happy to help you plan.\nI'm happy to help you plan.\nI'm happy to help you plan."
        let r = RolloutParser.parse(rollout(intent: "1. Plan", answer: loop), echo: echo)
        #expect(r.degeneration == .repeatedLines && r.problem == "repeated lines in <answer>")
        let sentences = RolloutParser.parse(rollout(intent: "1. Plan", answer: "Start small. Start small. Start small."), echo: echo)
        #expect(sentences.degeneration == .repeatedLines)
        // Twice is emphasis, not a loop; repeated single words in prose are fine.
        let twice = RolloutParser.parse(rollout(intent: "1. Plan", answer: "Start small.\nThen grow. Start small."), echo: echo)
        #expect(twice.isValid, "\(twice.problem ?? "")")
        let prose = RolloutParser.parse(
            rollout(intent: "1. Plan", answer: "It is a big, big, big decision, so take your time."), echo: echo)
        #expect(prose.isValid, "\(prose.problem ?? "")")
    }

    /// "1. 1.\n2. 2." (the demo's start policy) lists numbers, not intents.
    @Test func itemsWithoutWordsAreNoItems() {
        let r = RolloutParser.parse(rollout(intent: "1. 1.\n2. 2.\n3. 3."), echo: echo)
        #expect(r.intents.isEmpty && r.problem == "the intent list has no numbered items")
    }

    @Test func formatSummaryCountsCopiedAndRepeated() {
        let entries = [
            InferredIntents(intents: ["a"], valid: true, problem: nil),
            InferredIntents(intents: ["x"], valid: false, problem: "<intent> copies the prompt", degeneration: .copiesPrompt),
            InferredIntents(intents: ["y", "y"], valid: false, problem: "repeated lines in <intent>", degeneration: .repeatedLines),
            InferredIntents(intents: [], valid: false, problem: "missing <answer>"),
        ]
        let summary = ReplyFormatSummary(entries)
        #expect(summary.replies == 4 && summary.valid == 1 && summary.copiedPrompt == 1 && summary.repeatedLines == 1)
        #expect(summary.copiedOrRepeatedFraction == 0.5)
        #expect(summary.line == "1 of 4 replies well-formed; 1 copy the prompt, 1 repeat lines (50.0 % copied or repeated)")
        #expect(entries.map(\.countedIntents) == [1, 0, 0, 0])
    }
}

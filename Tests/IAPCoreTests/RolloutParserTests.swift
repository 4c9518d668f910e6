import Testing

@testable import IAPCore
import OpenAIWire

@Suite struct RolloutParserTests {
    let good = """
        <think>The asker is on a budget.</think>
        <intent>
        1. Save money
        2) Keep it simple
           and quick
        </intent>
        <think>Suggest cheap options.</think>
        <answer>Buy second-hand.</answer>
        """

    @Test func wellFormedRollout() {
        let r = RolloutParser.parse(good)
        #expect(r.isValid, "\(r.problem ?? "")")
        #expect(r.intents == ["Save money", "Keep it simple and quick"])
        #expect(r.answer == "Buy second-hand.")
        #expect(r.firstThink == "The asker is on a budget." && r.secondThink == "Suggest cheap options.")
        #expect(r.intentBucket == "low")
    }

    /// Issue 14: a list written on one line counts each number as an item; a number that
    /// is not the next in sequence, or is not followed by white space, stays in the text.
    @Test func intentsWrittenOnOneLine() {
        #expect(
            RolloutParser.numberedItems("1. Save money 2. Keep it simple 3) Learn fast") == ["Save money", "Keep it simple", "Learn fast"])
        #expect(
            RolloutParser.numberedItems("1. Use Python 3. It is easy 2.5 times faster") == ["Use Python 3. It is easy 2.5 times faster"])
        #expect(RolloutParser.numberedItems("1. a 2. b\n3. c 4. d") == ["a", "b", "c", "d"])
        #expect(RolloutParser.numberedItems("1. Version 12. x 2. y") == ["Version 12. x", "y"])
        let r = RolloutParser.parse("<think>t</think><intent>1. one 2. two 3. three</intent><think>u</think><answer>v</answer>")
        #expect(r.isValid && r.intents == ["one", "two", "three"] && r.intentBucket == "medium")
    }

    /// Each malformation is named.
    @Test(arguments: [
        ("<intent>1. a</intent><think>x</think><answer>y</answer>", "missing <think>"),
        ("<think>a</think><think>b</think><intent>1. a</intent><answer>y</answer>", "out of order"),
        ("<think>a</think><intent>1. a</intent><think>b</think><answer>y</answer><answer>z</answer>", "duplicated <answer>"),
        ("<think>a</think><intent>1. a</intent><think>b</think><think>c</think><answer>y</answer>", "duplicated <think>"),
        ("<think>a</think><intent>just prose</intent><think>b</think><answer>y</answer>", "no numbered items"),
        ("<think>a</think><intent>1. a</intent><think>b</think><answer>y", "cut off before </answer>"),
        ("Sure! <think>a</think><intent>1. a</intent><think>b</think><answer>y</answer>", "text outside"),
        ("<think>a</think><intent>1. a</intent><think>b</think><answer>y</answer> PS", "text after </answer>"),
        ("<think>a</think><intent>1. a</intent><think>b</think>", "missing <answer>"),
        ("<think>a<intent>1. a</intent></think><think>b</think><answer>y</answer>", "inside <think>"),
        ("no tags at all", "missing <think>"),
    ])
    func malformedRolloutsSayWhy(text: String, problem: String) {
        let r = RolloutParser.parse(text)
        #expect(!r.isValid)
        #expect(r.problem?.contains(problem) == true, "got \(r.problem ?? "valid") for \(text)")
    }

    @Test func truncatedAnswerIsStillReturned() {
        let r = RolloutParser.parse("<think>a</think><intent>1. x\n2. y\n3. z</intent><think>b</think><answer>partial answ")
        #expect(r.answer == "partial answ" && r.intents.count == 3 && r.intentBucket == "medium")
    }

    @Test func promptMessagesCarryTheInput() {
        let messages = RolloutPrompt.standard.messages(input: "Question: Why?")
        #expect(messages.count == 2 && messages[1].content == "Question: Why?")
        #expect(messages[0].content.contains("<intent>") && messages[0].content.contains("<answer>"))
    }
}

@Suite struct BaselinePromptTests {
    @Test func promptsAndFinalAnswers() {
        #expect(BaselineMethod.finalAnswer("Let me think.\nFinal answer: Use a budget.") == " Use a budget.")
        #expect(BaselineMethod.finalAnswer("Final answer: a\nFinal answer: b") == " b")
        #expect(BaselineMethod.finalAnswer("no marker") == "no marker")
        let messages = BaselineMethod.explicitIntent.prompt.messages(input: "Question: Why?", intents: ["save money", "be quick"])
        #expect(messages.last?.content == "Question: Why?\n\nThe person's likely intents:\n1. save money\n2. be quick")
        #expect(BaselineMethod.implicitIntent.prompt.system.contains("intent"))
        #expect(BaselineMethod.allCases.map(\.rawValue) == ["non-personalized", "implicit-intent", "explicit-intent", "direct"])
        #expect(BaselineMethod.direct.prompt.messages(input: "Q?").map(\.content) == ["Q?"])
    }
}

@Suite struct ServedSummaryTests {
    /// What `iap serve` puts in a reply's `iap` field: an IAP rollout's intents and answer,
    /// nothing for a reply without an intent block.
    @Test func iapRepliesCarryTheirIntents() {
        let reply = "<think>a</think><intent>1. save money\n2. be safe</intent><think>b</think><answer>Walk.</answer>"
        #expect(
            RolloutSummary(reply: reply) == RolloutSummary(intents: ["save money", "be safe"], answer: "Walk.", valid: true, problem: nil))
        #expect(RolloutSummary(reply: "plain text") == nil)
    }
}

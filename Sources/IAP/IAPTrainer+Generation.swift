import IAPCore
import JSONFiles
import LaMPQACore
import ModelFormats
import Torch
import Transformers

extension IAPTrainer {
    /// The prompt's ids: the rollout instruction (or, intent-free, the question alone) in
    /// the chat template; for rollouts `rollout.prefill` (e.g. `<think>`) starts the reply
    /// and counts as rollout text when it is parsed (not as completion tokens to learn).
    func promptIds(_ record: LaMPQARecord, intentFree: Bool) throws -> [Int] {
        let input = try parts.input.render(record)
        let messages = intentFree ? [ChatMessage(.user, input)] : parts.prompt.messages(input: input)
        var chat = try parts.template.render(messages, addGenerationPrompt: true)
        let prefill = config.rollout.prefill
        if !intentFree && !prefill.isEmpty { chat.parts.append(.template(prefill)) }
        return parts.tokenizer.encode(chat)
    }

    /// Rubric scores for (record, answer) pairs through the evaluator (cache, retry rounds).
    func judgeScores(_ pairs: [(LaMPQARecord, String)]) async throws -> [Double] {
        var evaluator = Evaluator(judge: parts.judge, cache: parts.judgeCache)
        evaluator.retryRounds = config.judge.retryRounds
        return try await evaluator.scores(of: pairs.map { (record: $0.0, answer: $0.1) })
    }

    /// Intent-free answers of the frozen reference policy (greedy), with their judge scores;
    /// computed once per question and kept in the run folder.
    func ensureReferenceAnswers(_ records: [LaMPQARecord]) async throws {
        let missing = records.filter { referenceAnswers[$0.id] == nil }
        var made: [ReferenceAnswer] = []
        if try referenceNeeded(missing.count) {
            let out = try referenceGenerations(missing)
            if !missing.isEmpty {
                let scores = try await judgeScores(zip(missing, out).map { ($0, $1.text) })
                made = missing.indices.map { ReferenceAnswer(id: missing[$0].id, text: out[$0].text, score: scores[$0]) }
            }
        }
        // Every rank learns every rank's new answers (a resumed run may give their questions
        // to another rank); rank 0 keeps the file.
        for answer in try dataParallel.gather(made) {
            referenceAnswers[answer.id] = answer
            if dataParallel.isMain { try JSONLines.append(answer, to: run.referencePath) }
        }
    }

    /// Whether the reference generates this round: when this rank has `missing` questions
    /// without an answer, or — its weights sharded under `fsdp`, so gathering them is a
    /// collective — when any rank has.
    func referenceNeeded(_ missing: Int) throws -> Bool {
        guard referenceSharded != nil else { return missing > 0 }
        return try dataParallel.sum([Double(missing)])[0] > 0
    }

    /// Greedy intent-free answers of the reference policy (synchronous: kept out of async
    /// functions, where the optimiser of Swift 6.3 crashes on this closure).
    func referenceGenerations(_ records: [LaMPQARecord]) throws -> [GeneratedSequence] {
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = config.rollout.referenceBudget
        options.addStops(of: parts.template)
        let prompts = try records.map { try promptIds($0, intentFree: true) }
        return try withWholeReference {
            prompts.isEmpty ? [] : try withNoGrad { try parts.reference.generate(prompts: prompts, tokenizer: parts.tokenizer, options: options) }
        }
    }

    /// The policy's rollouts for a round (synchronous, see `referenceGenerations`), at most
    /// `rollout.max_batch_rows` sequences at a time; `onFinished` hears of each finished group.
    func policyGenerations(
        _ prompts: [[Int]], options: GenerationOptions, promptSeeds: [UInt64]? = nil, onFinished: PromptFinished? = nil
    ) throws -> [GeneratedSequence] {
        let batching: Batching = config.rollout.batching == .continuous ? .continuous : .static
        return try withWholePolicy {
            try withNoGrad {
                try parts.policy.generate(
                    prompts: prompts, tokenizer: parts.tokenizer, options: options, promptSeeds: promptSeeds, maxRows: config.rollout.maxBatchRows,
                    batching: batching, onFinished: onFinished)
            }
        }
    }
}

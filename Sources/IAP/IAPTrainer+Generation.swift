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

    /// Token counts of the rollout prompts of `records` (benchmarks, `iap plan`'s prompt
    /// length).
    public func rolloutPromptLengths(_ records: [LaMPQARecord]) throws -> [Int] {
        try records.map { try promptIds($0, intentFree: false).count }
    }

    /// Rubric scores for (record, answer) pairs through the evaluator (cache, retry rounds).
    func judgeScores(_ pairs: [(LaMPQARecord, String)]) async throws -> [Double] {
        var evaluator = Evaluator(judge: parts.judge, cache: parts.judgeCache)
        evaluator.retryRounds = config.judge.retryRounds
        return try await evaluator.scores(of: pairs.map { (record: $0.0, answer: $0.1) })
    }

    /// Intent-free answers ȳ of the frozen reference policy for a round's questions, with
    /// their judge scores: under `rollout.reference_answers: sampled` a fresh draw for each
    /// question (seeded by the step, the round and its place `first + i`, as the rollouts are);
    /// under `cached_greedy` one greedy answer per question, computed once and kept in the run
    /// folder.
    func ensureReferenceAnswers(_ records: [LaMPQARecord], round: Int, first: Int) async throws {
        guard config.rollout.referenceAnswers == .cachedGreedy else {
            for answer in try await referenceAnswers(for: records, sampling: (round, first)) { referenceAnswers[answer.id] = answer }
            return
        }
        let made = try await referenceAnswers(for: records.filter { referenceAnswers[$0.id] == nil }, sampling: nil)
        // Every rank learns every rank's new answers (a resumed run may give their questions
        // to another rank); rank 0 keeps the file.
        for answer in try dataParallel.gather(made) {
            referenceAnswers[answer.id] = answer
            if dataParallel.isMain { try JSONLines.append(answer, to: run.referencePath) }
        }
    }

    /// The reference's answers to `records` with their judge scores (greedy, or sampled for
    /// round `sampling.round` whose first question is `sampling.first`).
    func referenceAnswers(for records: [LaMPQARecord], sampling: (round: Int, first: Int)?) async throws -> [ReferenceAnswer] {
        guard try referenceNeeded(records.count) else { return [] }
        let out = try referenceGenerations(records, sampling: sampling)
        guard !records.isEmpty else { return [] }
        let scores = try await judgeScores(zip(records, out).map { ($0, $1.text) })
        return records.indices.map { ReferenceAnswer(id: records[$0].id, text: out[$0].text, score: scores[$0]) }
    }

    /// Whether the reference generates this round: when this rank has `missing` questions
    /// without an answer, or — its weights sharded under `fsdp`, so gathering them is a
    /// collective — when any rank has.
    func referenceNeeded(_ missing: Int) throws -> Bool {
        guard strategy.referencePassesAreCollective else { return missing > 0 }
        return try dataParallel.sum([Double(missing)])[0] > 0
    }

    /// Intent-free answers of the reference policy, greedy or sampled at the rollouts'
    /// temperature and top-p (synchronous: kept out of async functions, where the optimiser of
    /// Swift 6.3 crashes on this closure).
    func referenceGenerations(_ records: [LaMPQARecord], sampling: (round: Int, first: Int)?) throws -> [GeneratedSequence] {
        var options = GenerationOptions()
        options.decodeSteps = config.policy.decodeSteps
        options.maxNewTokens = config.rollout.referenceBudget
        options.addStops(of: parts.template)
        var seeds: [UInt64]?
        if let sampling {
            options.temperature = config.rollout.temperature
            options.topP = config.rollout.topP
            // Apart from the rollouts' seeds of the same round (same step, round and places).
            options.seed = roundSeed(sampling.round) ^ 0x5EED_0F_2EF_A25E
            seeds = records.indices.map { options.seed &* 6_364_136_223_846_793_005 &+ UInt64(sampling.first + $0) }
        } else {
            options.greedy = true
        }
        let prompts = try records.map { try promptIds($0, intentFree: true) }
        return try withWholeReference {
            prompts.isEmpty
                ? []
                : try withNoGrad {
                    try parts.reference.generate(prompts: prompts, tokenizer: parts.tokenizer, options: options, promptSeeds: seeds)
                }
        }
    }

    /// The sampling seed of round `round` of this step (rollouts, and sampled reference answers).
    func roundSeed(_ round: Int) -> UInt64 {
        UInt64(config.run.seed) &* 1_000_003 &+ UInt64(step) &* 1009 &+ UInt64(round)
    }

    /// The policy's rollouts for a round (synchronous, see `referenceGenerations`), at most
    /// `rollout.max_batch_rows` sequences at a time; `onFinished` hears of each finished group.
    func policyGenerations(
        _ prompts: [[Int]], options: GenerationOptions, promptSeeds: [UInt64]? = nil,
        onFinished: ((Int, [GeneratedSequence]) -> Void)? = nil
    ) throws -> [GeneratedSequence] {
        var request = GenerationRequest(prompts: prompts, seeds: promptSeeds, options: options)
        request.batching = config.rollout.batching == .continuous ? .continuous : .static
        request.maxRows = config.rollout.maxBatchRows ?? .max
        return try withWholePolicy {
            try withNoGrad {
                try parts.policy.generate(request, tokenizer: parts.tokenizer, observer: GenerationObserver(finished: onFinished))
            }
        }
    }
}

import IAPCore
import JSONFiles
import LaMPQACore
import ModelFormats
import Torch
import Transformers

extension IAPTrainer {
    /// One sampled completion and what became of it.
    struct Rollout {
        let record: LaMPQARecord
        let prompt: [Int]
        let sequence: GeneratedSequence
        let parsed: ParsedRollout
        let intentTokens: Int
        var reward = RewardParts(valid: false, contrast: 0, lengthPenalty: 0, overlong: 0, total: 0)
        var advantage = 0.0

        var stats: RolloutStats {
            RolloutStats(
                reward: reward, intentCount: parsed.intents.count, intentTokens: intentTokens, completionTokens: sequence.tokens.count,
                truncated: sequence.finishReason == .length)
        }
    }

    /// The groups of a step: those kept for the update, and everything sampled.
    struct SampledGroups {
        var kept: [[Rollout]] = []
        var all: [Rollout] = []
        var sampled = 0
        var zeroSpread = 0
        var rounds = 0
    }

    /// One optimizer step: sample groups → score → advantages → update; returns its metrics.
    public func trainStep() async throws -> MetricsLine {
        var times = PhaseTimes()
        var groups = try await sampleGroups(&times)
        assignAdvantages(&groups.kept)
        let started = ContinuousClock.now
        let update = try updatePolicy(groups.kept.flatMap { $0 })
        times.update = seconds(since: started)
        step += 1
        let metrics = StepMetrics(
            step: step, rollouts: groups.all.map(\.stats), sampledGroups: groups.sampled, zeroSpreadGroups: groups.zeroSpread,
            keptGroups: groups.kept.count, samplingRounds: groups.rounds, update: update, times: times)
        try log(metrics, rollouts: groups.all)
        return metrics.line
    }

    /// Rounds of sampling and scoring until `rollout.questions_per_step` groups with a
    /// reward spread are kept (DAPO's dynamic sampling), or the extra rounds run out.
    func sampleGroups(_ times: inout PhaseTimes) async throws -> SampledGroups {
        var groups = SampledGroups()
        let wanted = config.rollout.questionsPerStep
        let dynamic = config.dapo.dynamicSampling
        let size = config.rollout.groupSize
        while groups.kept.count < wanted && groups.rounds <= (dynamic ? config.dapo.maxExtraRounds : 0) {
            let records = nextRecords(wanted - groups.kept.count)
            var rollouts = try await sampleRound(records, round: groups.rounds, times: &times)
            try await score(&rollouts, times: &times)
            for start in stride(from: 0, to: rollouts.count, by: size) {
                let group = Array(rollouts[start..<(start + size)])
                groups.all += group
                groups.sampled += 1
                if GroupAdvantages.hasZeroSpread(group.map { $0.reward.total }) {
                    groups.zeroSpread += 1
                    if dynamic { continue }
                }
                groups.kept.append(group)
            }
            groups.rounds += 1
        }
        return groups
    }

    /// G rollouts per question, parsed, with the questions' reference answers made ready.
    func sampleRound(_ records: [LaMPQARecord], round: Int, times: inout PhaseTimes) async throws -> [Rollout] {
        var options = GenerationOptions()
        options.samplesPerPrompt = config.rollout.groupSize
        options.temperature = config.rollout.temperature
        options.topP = config.rollout.topP
        options.maxNewTokens = config.rollout.maxNewTokens
        options.seed = UInt64(config.run.seed) &* 1_000_003 &+ UInt64(step) &* 1009 &+ UInt64(round)
        let prompts = try records.map { try promptIds($0, intentFree: false) }
        var started = ContinuousClock.now
        let sequences = try policyGenerations(prompts, options: options)
        times.generation += seconds(since: started)
        started = ContinuousClock.now
        try await ensureReferenceAnswers(records)
        times.reference += seconds(since: started)
        let prefill = config.rollout.prefill
        return sequences.map { s in
            let parsed = RolloutParser.parse(prefill + s.text)
            return Rollout(
                record: records[s.prompt], prompt: prompts[s.prompt], sequence: s, parsed: parsed,
                intentTokens: parsed.intent.map { parts.tokenizer.encode($0).count } ?? 0)
        }
    }

    /// Rewards: the judge scores well-formed answers (and, with `judged-minus`, malformed
    /// replies' whole text), similarity compares answers with the reference's, and each
    /// group's malformed rollouts get the configured reward.
    func score(_ rollouts: inout [Rollout], times: inout PhaseTimes) async throws {
        let settings = config.reward.settings
        let prefill = config.rollout.prefill
        let valid = rollouts.indices.filter { rollouts[$0].parsed.isValid }
        var malformed: [Int] = []
        if case .judgedMinus = settings.malformed { malformed = rollouts.indices.filter { !rollouts[$0].parsed.isValid } }
        var started = ContinuousClock.now
        let judged = try await judgeScores(
            valid.map { (rollouts[$0].record, rollouts[$0].parsed.answer ?? "") }
                + malformed.map { (rollouts[$0].record, RolloutParser.withoutTags(prefill + rollouts[$0].sequence.text)) })
        var wholeText: [Int: Double] = [:]
        for (k, i) in malformed.enumerated() { wholeText[i] = judged[valid.count + k] }
        times.judge += seconds(since: started)
        started = ContinuousClock.now
        let similarities = try similarities(valid.map { rollouts[$0] })
        times.similarity += seconds(since: started)
        var composed: [Int: RewardParts] = [:]
        for (k, i) in valid.enumerated() {
            composed[i] = IAPReward.compose(
                personalization: judged[k], similarity: similarities[k], referenceScore: referenceAnswers[rollouts[i].record.id]?.score ?? 0,
                intentTokens: rollouts[i].intentTokens, completionTokens: rollouts[i].sequence.tokens.count, settings: settings)
        }
        let size = config.rollout.groupSize
        for start in stride(from: 0, to: rollouts.count, by: size) {
            let indices = Array(start..<(start + size))
            let finished = IAPReward.finishGroup(
                indices.map { composed[$0] }, completionTokens: indices.map { rollouts[$0].sequence.tokens.count }, settings: settings,
                wholeTextScores: indices.map { wholeText[$0] })
            for (k, i) in indices.enumerated() { rollouts[i].reward = finished[k] }
        }
    }

    /// sim(ŷ, ȳ) of each well-formed answer with its question's reference answer.
    func similarities(_ rollouts: [Rollout]) throws -> [Double] {
        let candidates = rollouts.map { $0.parsed.answer ?? "" }
        let references = rollouts.map { referenceAnswers[$0.record.id]?.text ?? "" }
        switch config.reward.similarity {
        case .rougeL: return zip(candidates, references).map { RougeL.f1(prediction: $0, target: $1) }
        case .bertscore: return try parts.scorer.score(candidates: candidates, references: references, idf: config.reward.idf).map(\.f1)
        }
    }

    /// Group-relative advantages over the kept groups (`dapo.advantage_scaling`).
    func assignAdvantages(_ groups: inout [[Rollout]]) {
        let advantages = GroupAdvantages.compute(
            groups.map { $0.map { $0.reward.total } }, scaling: config.dapo.advantageScaling, eps: config.dapo.advantageEps)
        for g in groups.indices { for k in groups[g].indices { groups[g][k].advantage = advantages[g][k] } }
    }

    /// metrics.jsonl, TensorBoard, and the first `run.log_rollouts` rollouts.
    func log(_ metrics: StepMetrics, rollouts: [Rollout]) throws {
        let line = metrics.line
        tensorBoard?.write(step: step, scalars: line.values.compactMap { key, value in value.map { (key, $0) } }.sorted { $0.0 < $1.0 })
        try JSONLines.append(line, to: run.metricsPath)
        for r in rollouts.prefix(config.run.logRollouts) {
            try JSONLines.append(
                RolloutRecord(
                    step: step, questionId: r.record.id, completion: r.sequence.text, valid: r.reward.valid, problem: r.parsed.problem,
                    intents: r.parsed.intents, answer: r.parsed.answer, reward: r.reward.total, personalization: r.reward.personalization,
                    similarity: r.reward.similarity, contrast: r.reward.contrast, lengthPenalty: r.reward.lengthPenalty, advantage: r.advantage,
                    finishReason: r.sequence.finishReason.rawValue), to: run.rolloutsPath)
        }
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

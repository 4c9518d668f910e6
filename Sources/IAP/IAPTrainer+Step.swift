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
                truncated: sequence.finishReason == .length, budgetEnded: !sequence.budgetEndedBlocks.isEmpty,
                degeneration: parsed.degeneration)
        }
    }

    /// The groups of a step: those kept for the update, and everything sampled.
    struct SampledGroups {
        var kept: [[Rollout]] = []
        var all: [Rollout] = []
        var sampled = 0
        var zeroSpread = 0
        var rounds = 0
        /// Kept groups over every rank (= kept.count in one process).
        var keptEverywhere = 0
    }

    /// One optimizer step: sample groups → score → advantages → update; returns its metrics.
    public func trainStep() async throws -> MetricsLine {
        var (groups, times) = try await sampleGroups()
        try assignAdvantages(&groups.kept)
        let started = ContinuousClock.now
        let update = try updatePolicy(groups.kept.flatMap { $0 })
        times.update = seconds(since: started)
        step += 1
        // Over every rank: counts summed, rollouts in rank order (one process: as they are).
        let counts = try dataParallel.sum([Double(groups.sampled), Double(groups.zeroSpread)])
        var metrics = StepMetrics(
            step: step, rollouts: try dataParallel.gather(groups.all.map(\.stats)), sampledGroups: Int(counts[0]),
            zeroSpreadGroups: Int(counts[1]), keptGroups: groups.keptEverywhere, samplingRounds: groups.rounds, update: update, times: times
        )
        metrics.extra = strategy.updateMetrics
        try log(metrics, rollouts: try dataParallel.gather(Array(groups.all.prefix(config.run.logRollouts)).map(rolloutRecord)))
        return metrics.line
    }

    // The async phases below pass values rather than `inout` and keep closures in synchronous
    // helpers: Swift 6.3's optimiser crashes splitting such async functions into coroutines.

    /// Rounds of sampling and scoring until `rollout.questions_per_step` groups with a
    /// reward spread are kept (DAPO's dynamic sampling), or the extra rounds run out.
    func sampleGroups() async throws -> (SampledGroups, PhaseTimes) {
        var groups = SampledGroups()
        var times = PhaseTimes()
        let wanted = config.rollout.questionsPerStep
        let dynamic = config.dapo.dynamicSampling
        while groups.keptEverywhere < wanted && groups.rounds <= (dynamic ? config.dapo.maxExtraRounds : 0) {
            // Every rank draws the same questions and takes its share: groups never straddle ranks.
            let (records, first) = dataParallel.share(nextRecords(wanted - groups.keptEverywhere))
            var started = ContinuousClock.now
            let judging = GroupJudging()
            let (prompts, sequences) = try generateRound(records, round: groups.rounds, first: first, judging: judging)
            times.generation += seconds(since: started)
            started = ContinuousClock.now
            do { try await ensureReferenceAnswers(records, round: groups.rounds, first: first) } catch {
                judging.cancelAll()
                throw error
            }
            times.reference += seconds(since: started)
            let (rollouts, judged, similar) = try await score(
                parseRollouts(records, prompts: prompts, sequences: sequences), judging: judging)
            times.judge += judged
            times.similarity += similar
            collect(rollouts, into: &groups)
            groups.keptEverywhere = Int(try dataParallel.sum([Double(groups.kept.count)])[0])
            groups.rounds += 1
        }
        return (groups, times)
    }

    /// G completions per question from the policy (synchronous, see `referenceGenerations`).
    /// With `rollout.overlap_judging`, each question's judge calls start in `judging` as soon
    /// as its group has finished. Each question samples from its own seed (the step, the
    /// round and its place `first + i` in the round), so its completions do not depend on
    /// which rank or batch it lands in.
    func generateRound(_ records: [LaMPQARecord], round: Int, first: Int, judging: GroupJudging) throws -> ([[Int]], [GeneratedSequence]) {
        var options = GenerationOptions()
        options.decodeSteps = config.policy.decodeSteps
        options.samplesPerPrompt = config.rollout.groupSize
        options.temperature = config.rollout.temperature
        options.topP = config.rollout.topP
        options.maxNewTokens = config.rollout.maxNewTokens
        options.seed = roundSeed(round)
        options.scaffold = RolloutFormat(config.rollout).blockScaffold
        options.addStops(of: parts.template)
        let prompts = try records.map { try promptIds($0, intentFree: false) }
        var onFinished: ((Int, [GeneratedSequence]) -> Void)?
        if config.rollout.overlapJudging {
            onFinished = { [self] prompt, completions in
                let pairs = judgeRequests(parseRollouts(records, prompts: prompts, sequences: completions)).pairs
                judging.start(group: prompt) { try await self.judgeScores(pairs) }
            }
        }
        let seeds = records.indices.map { options.seed &* 6_364_136_223_846_793_005 &+ UInt64(first + $0) }
        do {
            return (prompts, try policyGenerations(prompts, options: options, promptSeeds: seeds, onFinished: onFinished))
        } catch {
            judging.cancelAll()
            throw error
        }
    }

    /// Completions split into their four blocks (`rollout.prefill` counts as rollout text).
    func parseRollouts(_ records: [LaMPQARecord], prompts: [[Int]], sequences: [GeneratedSequence]) -> [Rollout] {
        let prefill = config.rollout.prefill
        return sequences.map { s in
            let parsed = RolloutParser.parse(prefill + s.text, echo: echo)
            return Rollout(
                record: records[s.prompt], prompt: prompts[s.prompt], sequence: s, parsed: parsed,
                intentTokens: parsed.intent.map { parts.tokenizer.encode($0).count } ?? 0)
        }
    }

    /// Groups of G, each kept unless its rewards have no spread (with dynamic sampling).
    func collect(_ rollouts: [Rollout], into groups: inout SampledGroups) {
        let size = config.rollout.groupSize
        for start in stride(from: 0, to: rollouts.count, by: size) {
            let group = Array(rollouts[start..<(start + size)])
            groups.all += group
            groups.sampled += 1
            if GroupAdvantages.hasZeroSpread(group.map { $0.reward.total }) {
                groups.zeroSpread += 1
                if config.dapo.dynamicSampling { continue }
            }
            groups.kept.append(group)
        }
    }

    /// What the judge is asked for a round: well-formed answers, then (with `judged-minus`)
    /// malformed replies' whole text.
    struct JudgeRequests {
        var valid: [Int] = []
        var malformed: [Int] = []
        var pairs: [(LaMPQARecord, String)] = []
    }

    func judgeRequests(_ rollouts: [Rollout]) -> JudgeRequests {
        var requests = JudgeRequests()
        requests.valid = rollouts.indices.filter { rollouts[$0].parsed.isValid }
        if case .judgedMinus = config.reward.malformed { requests.malformed = rollouts.indices.filter { !rollouts[$0].parsed.isValid } }
        let prefill = config.rollout.prefill
        requests.pairs =
            requests.valid.map { (rollouts[$0].record, rollouts[$0].parsed.answer ?? "") }
            + requests.malformed.map { (rollouts[$0].record, RolloutParser.withoutTags(prefill + rollouts[$0].sequence.text)) }
        return requests
    }

    /// Rewards: the judge scores, similarity to the reference answers, the composed reward
    /// and each group's malformed rollouts; returns the rollouts and the judge and similarity seconds.
    /// The judge seconds are those spent waiting for it after generation (judge calls that
    /// `judging` started while the round generated run before).
    func score(_ rollouts: [Rollout], judging: GroupJudging) async throws -> ([Rollout], Double, Double) {
        let requests = judgeRequests(rollouts)
        var started = ContinuousClock.now
        let judged = try await roundJudgeScores(rollouts, judging: judging)
        let judgeSeconds = seconds(since: started)
        started = ContinuousClock.now
        let similarities = try similarities(requests.valid.map { rollouts[$0] })
        let similaritySeconds = seconds(since: started)
        return (rewarded(rollouts, requests: requests, judged: judged, similarities: similarities), judgeSeconds, similaritySeconds)
    }

    /// The judge's scores in `judgeRequests(rollouts)` order (every group's well-formed
    /// answers, then every group's malformed replies), gathered group by group from the calls
    /// `judging` started, or asked now for groups it has none for.
    func roundJudgeScores(_ rollouts: [Rollout], judging: GroupJudging) async throws -> [Double] {
        let size = config.rollout.groupSize
        var valid: [Double] = []
        var malformed: [Double] = []
        for (g, start) in stride(from: 0, to: rollouts.count, by: size).enumerated() {
            let requests = judgeRequests(Array(rollouts[start..<(start + size)]))
            var scores = try await judging.scores(group: g)
            if scores == nil { scores = try await judgeScores(requests.pairs) }
            let all = scores ?? []
            valid += all.prefix(requests.valid.count)
            malformed += all.dropFirst(requests.valid.count)
        }
        return valid + malformed
    }

    /// The rollouts with their reward parts (IAPReward over each group).
    func rewarded(_ rollouts: [Rollout], requests: JudgeRequests, judged: [Double], similarities: [Double]) -> [Rollout] {
        let settings = config.reward.settings
        var wholeText: [Int: Double] = [:]
        for (k, i) in requests.malformed.enumerated() { wholeText[i] = judged[requests.valid.count + k] }
        var composed: [Int: RewardParts] = [:]
        for (k, i) in requests.valid.enumerated() {
            composed[i] = IAPReward.compose(
                personalization: judged[k], similarity: similarities[k],
                referenceScore: referenceAnswers[rollouts[i].record.id]?.score ?? 0,
                intentTokens: rollouts[i].intentTokens, completionTokens: rollouts[i].sequence.tokens.count, settings: settings)
        }
        var out = rollouts
        let size = config.rollout.groupSize
        for start in stride(from: 0, to: out.count, by: size) {
            let indices = Array(start..<(start + size))
            let finished = IAPReward.finishGroup(
                indices.map { composed[$0] }, completionTokens: indices.map { out[$0].sequence.tokens.count }, settings: settings,
                wholeTextScores: indices.map { wholeText[$0] })
            for (k, i) in indices.enumerated() { out[i].reward = finished[k] }
        }
        return out
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

    /// Group-relative advantages over the kept groups of every rank (`dapo.advantage_scaling`:
    /// `batch` scales by the whole step's spread); this rank's groups get theirs.
    func assignAdvantages(_ groups: inout [[Rollout]]) throws {
        let everyRank = try dataParallel.gather([groups.map { $0.map { $0.reward.total } }])
        let offset = everyRank.prefix(dataParallel.rank).reduce(0) { $0 + $1.count }
        let advantages = GroupAdvantages.compute(
            everyRank.flatMap { $0 }, scaling: config.dapo.advantageScaling, eps: config.dapo.advantageEps)
        for g in groups.indices { for k in groups[g].indices { groups[g][k].advantage = advantages[offset + g][k] } }
    }

    /// metrics.jsonl, TensorBoard, and the first `run.log_rollouts` rollouts (rank 0 only).
    func log(_ metrics: StepMetrics, rollouts: [RolloutRecord]) throws {
        guard dataParallel.isMain else { return }
        let line = metrics.line
        tensorBoard?.write(step: step, scalars: line.values.compactMap { key, value in value.map { (key, $0) } }.sorted { $0.0 < $1.0 })
        try JSONLines.append(line, to: run.metricsPath)
        for r in rollouts.prefix(config.run.logRollouts) { try JSONLines.append(r, to: run.rolloutsPath) }
    }

    /// A rollout as `rollouts.jsonl` records it.
    func rolloutRecord(_ r: Rollout) -> RolloutRecord {
        RolloutRecord(
            step: step, questionId: r.record.id, completion: r.sequence.text, valid: r.reward.valid,
            problem: r.parsed.problem ?? RolloutFormat(config.rollout).budgetNote(r.sequence.budgetEndedBlocks),
            intents: r.parsed.intents, answer: r.parsed.answer, reward: r.reward.total, personalization: r.reward.personalization,
            similarity: r.reward.similarity, contrast: r.reward.contrast, lengthPenalty: r.reward.lengthPenalty, advantage: r.advantage,
            finishReason: r.sequence.finishReason.rawValue)
    }
}

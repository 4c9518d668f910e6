import Foundation
import LaMPQA
import ModelFormats
import SafeTensors
import Torch
import Transformers

/// The IAP training loop (paper Algorithm 1 with DAPO, SPEC-RL.md): each step samples G
/// tagged rollouts per question from the policy, scores their answers (rubric judge,
/// contrast with the reference policy's intent-free answer, intent length), turns rewards
/// into group-relative advantages, drops zero-spread groups (sampling more questions, for a
/// bounded number of extra rounds), and updates the policy μ times with the clipped,
/// KL-regularised, token-aggregated objective, accumulating gradients over micro-batches.
public final class IAPTrainer: CheckpointedTrainer, @unchecked Sendable {
    public struct Parts: Sendable {
        public var policy: CausalLM
        public var reference: CausalLM
        public var tokenizer: Tokenizer
        public var template: ChatTemplate
        public var judge: RubricJudge
        public var judgeCache: JudgeCache?
        public var scorer: BERTScorer
        public var records: [LaMPQARecord]
        public var input: PolicyInputBuilder
        public var prompt: RolloutPrompt
        /// The policy's source (name or path) and chat template text, for checkpoints.
        public var chatTemplateText: String?
        public init(
            policy: CausalLM, reference: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, judge: RubricJudge, judgeCache: JudgeCache?,
            scorer: BERTScorer, records: [LaMPQARecord], input: PolicyInputBuilder, prompt: RolloutPrompt, chatTemplateText: String?
        ) {
            self.policy = policy
            self.reference = reference
            self.tokenizer = tokenizer
            self.template = template
            self.judge = judge
            self.judgeCache = judgeCache
            self.scorer = scorer
            self.records = records
            self.input = input
            self.prompt = prompt
            self.chatTemplateText = chatTemplateText
        }
    }

    public let config: TrainConfig
    public let run: RunFolder
    let parts: Parts
    let optimizer: AdamW
    let schedule: LearningRateSchedule
    let rewardSettings: RewardSettings
    let loss: PolicyLoss
    /// Completed optimizer steps.
    public private(set) var step = 0
    /// Position in the current epoch's shuffled question order.
    var cursor = 0
    var epoch = 0
    var order: [Int] = []
    var referenceAnswers: [String: (text: String, score: Double)] = [:]
    let tensorBoard: TensorBoardWriter?

    public init(config: TrainConfig, run: RunFolder, parts: Parts) throws {
        self.config = config
        self.run = run
        self.parts = parts
        try IAPTrainer.validate(config)
        optimizer = try config.trainableOptimizer(for: parts.policy)
        schedule = config.learningRateSchedule(totalSteps: config.int("run.steps"))
        var reward = RewardSettings()
        reward.personalization = config.double("reward.lambda_pers")
        reward.contrast = config.double("reward.lambda_contrast")
        reward.length = config.double("reward.lambda_length")
        reward.similarityWeight = config.double("reward.similarity_weight")
        reward.intentTokenLimit = config.int("reward.intent_token_limit")
        let malformed = config.string("reward.malformed")
        if malformed == "group-min" {
            reward.malformed = .groupMinimum(margin: 0.1, fallback: -1)
        } else if malformed.hasPrefix("judged-minus:"), let penalty = Double(malformed.dropFirst("judged-minus:".count)) {
            reward.malformed = .judgedMinus(penalty: penalty)
        } else if let value = Double(malformed) {
            reward.malformed = .fixed(value)
        } else {
            throw ConfigError("reward.malformed: a number, group-min or judged-minus:PENALTY, got \(malformed)")
        }
        if let maxLength = config.optionalInt("reward.overlong_max") { reward.overlong = (maxLength, config.int("reward.overlong_buffer")) }
        rewardSettings = reward
        var loss = PolicyLoss()
        loss.clipLow = config.double("dapo.clip_low")
        loss.clipHigh = config.double("dapo.clip_high")
        loss.dualClip = config.optionalDouble("dapo.dual_clip")
        loss.klCoefficient = config.double("dapo.kl_coef")
        guard let aggregation = LossAggregation(rawValue: config.string("dapo.aggregation")) else {
            throw ConfigError("dapo.aggregation: one of \(LossAggregation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        loss.aggregation = aggregation
        self.loss = loss
        guard AdvantageScaling(rawValue: config.string("dapo.advantage_scaling")) != nil else {
            throw ConfigError("dapo.advantage_scaling: one of group, batch, none")
        }
        guard !parts.records.isEmpty else { throw ConfigError("data: no training questions") }
        guard ["bertscore", "rouge-l"].contains(config.string("reward.similarity")) else {
            throw ConfigError("reward.similarity: bertscore or rouge-l")
        }
        tensorBoard = try? TensorBoardWriter(folder: run.path)
        for line in RunFolder.readLines(run.referencePath) {
            if let id = line["id"]?.stringValue, let text = line["text"]?.stringValue, let score = line["score"]?.doubleValue {
                referenceAnswers[id] = (text, score)
            }
        }
        order = shuffledOrder(epoch: 0)
    }

    /// Values outside their range are errors naming the key (before any model work starts).
    static func validate(_ config: TrainConfig) throws(ConfigError) {
        for key in [
            "rollout.group_size", "rollout.questions_per_step", "rollout.max_new_tokens", "rollout.reference_max_new_tokens",
            "optim.micro_batch", "optim.updates_per_batch", "run.checkpoint_every", "run.keep_checkpoints",
        ] where config.int(key) < 1 {
            throw ConfigError("\(key): at least 1, got \(config.int(key))")
        }
        if config.int("run.steps") < 0 { throw ConfigError("run.steps: 0 or more, got \(config.int("run.steps"))") }
        if config.int("dapo.max_extra_rounds") < 0 { throw ConfigError("dapo.max_extra_rounds: 0 or more") }
        let temperature = config.double("rollout.temperature"), topP = config.double("rollout.top_p")
        guard temperature > 0, temperature.isFinite else { throw ConfigError("rollout.temperature: above 0, got \(temperature)") }
        guard topP > 0, topP <= 1 else { throw ConfigError("rollout.top_p: in (0, 1], got \(topP)") }
        for key in ["optim.lr", "dapo.clip_low", "dapo.clip_high", "dapo.kl_coef", "optim.max_grad_norm", "optim.warmup_ratio"] {
            let v = config.double(key)
            guard v >= 0, v.isFinite else { throw ConfigError("\(key): 0 or more, got \(v)") }
        }
        guard config.double("optim.warmup_ratio") <= 1 else { throw ConfigError("optim.warmup_ratio: at most 1") }
    }

    func shuffledOrder(epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: UInt64(config.int("run.seed")) &* 6_364_136_223_846_793_005 &+ UInt64(epoch))
        return Array(parts.records.indices).shuffled(using: &rng)
    }

    // MARK: Checkpoints

    public var totalSteps: Int { config.int("run.steps") }

    public func prepare() async throws {}

    /// Writes checkpoints/step-N (weights, tokenizer, config, optimizer, trainer state) and
    /// keeps the newest `run.keep_checkpoints`.
    public func saveCheckpoint() throws {
        let state = JSONValue.object([
            ("step", .int(step)), ("cursor", .int(cursor)), ("epoch", .int(epoch)), ("seed", .int(config.int("run.seed"))),
            ("optimizer_step", .int(optimizer.stepCount)),
        ])
        try TrainingCheckpoint.save(
            policy: parts.policy, tokenizer: parts.tokenizer, chatTemplate: parts.chatTemplateText, optimizer: optimizer, state: state, run: run,
            step: step, keep: config.int("run.keep_checkpoints"))
    }

    /// Restores weights, optimizer, data position and step from a checkpoint folder, and
    /// trims metrics/rollouts written after it.
    public func restore(from folder: String) throws {
        let state = try TrainingCheckpoint.restore(from: folder, policy: parts.policy, optimizer: optimizer)
        guard let savedStep = state["step"]?.intValue, let savedCursor = state["cursor"]?.intValue, let savedEpoch = state["epoch"]?.intValue
        else { throw ConfigError("\(folder)/trainer_state.json: missing step, cursor or epoch") }
        step = savedStep
        cursor = savedCursor
        epoch = savedEpoch
        order = shuffledOrder(epoch: epoch)
        try RunFolder.truncate(run.metricsPath, afterStep: step)
        try RunFolder.truncate(run.rolloutsPath, afterStep: step)
    }

    // MARK: The step

    struct Rollout {
        let record: LaMPQARecord
        let prompt: [Int]
        let sequence: GeneratedSequence
        let parsed: ParsedRollout
        var reward: RewardParts
        var advantage = 0.0
        var intentTokens: Int
    }

    /// Phase timings of a step, in seconds.
    struct Timings {
        var generation = 0.0, reference = 0.0, judge = 0.0, similarity = 0.0, update = 0.0
    }

    func nextRecords(_ count: Int) -> [LaMPQARecord] {
        var out: [LaMPQARecord] = []
        while out.count < count {
            if cursor >= order.count {
                epoch += 1
                cursor = 0
                order = shuffledOrder(epoch: epoch)
            }
            out.append(parts.records[order[cursor]])
            cursor += 1
        }
        return out
    }

    /// The rollout prompt's ids; for rollouts, `rollout.prefill` (e.g. `<think>`) is
    /// appended as the start of the assistant's reply, and counts as part of the rollout
    /// text when it is parsed (not as completion tokens to learn).
    func promptIds(_ record: LaMPQARecord, intentFree: Bool) throws -> [Int] {
        let input = try parts.input.render(record)
        let messages = intentFree ? [ChatMessage(.user, input)] : parts.prompt.messages(input: input)
        var chat = try parts.template.render(messages, addGenerationPrompt: true)
        let prefill = config.string("rollout.prefill")
        if !intentFree && !prefill.isEmpty { chat.parts.append(.template(prefill)) }
        return parts.tokenizer.encode(chat)
    }

    /// A completion with the IAP tags taken out (what a reader would see).
    public static func withoutTags(_ text: String) -> String {
        var out = text
        for tag in ["<think>", "</think>", "<intent>", "</intent>", "<answer>", "</answer>"] { out = out.replacingAll(tag, with: " ") }
        return out
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

    /// Rubric scores for (record, answer) pairs through the evaluator (cache, retry rounds).
    func judgeScores(_ pairs: [(LaMPQARecord, String)]) async throws -> [Double] {
        try await IAPTrainer.judgeScores(pairs, judge: parts.judge, cache: parts.judgeCache, retryRounds: config.int("judge.retry_rounds"))
    }

    /// Several answers to the same question are judged as distinct items (`id#k`).
    static func judgeScores(_ pairs: [(LaMPQARecord, String)], judge: RubricJudge, cache: JudgeCache?, retryRounds: Int) async throws -> [Double] {
        var records: [LaMPQARecord] = []
        var responses: [String: String] = [:]
        for (k, (record, answer)) in pairs.enumerated() {
            var r = record
            r.id = "\(record.id)#\(k)"
            records.append(r)
            responses[r.id] = answer
        }
        var evaluator = Evaluator(judge: judge, cache: cache)
        evaluator.retryRounds = retryRounds
        let report = try await evaluator.evaluate(records: records, responses: responses)
        let byId = Dictionary(uniqueKeysWithValues: report.questions.map { ($0.id, $0.score) })
        return records.map { byId[$0.id] ?? 0 }
    }

    /// Intent-free answers of the frozen reference policy (greedy), with their judge scores;
    /// computed once per question and kept in the run folder.
    func ensureReferenceAnswers(_ records: [LaMPQARecord]) async throws {
        let missing = records.filter { referenceAnswers[$0.id] == nil }
        guard !missing.isEmpty else { return }
        let out = try referenceGenerations(missing)
        let scores = try await judgeScores(zip(missing, out).map { ($0, $1.text) })
        for (k, record) in missing.enumerated() {
            referenceAnswers[record.id] = (out[k].text, scores[k])
            try RunFolder.appendLine(.object([("id", .string(record.id)), ("text", .string(out[k].text)), ("score", .double(scores[k]))]), to: run.referencePath)
        }
    }

    /// Greedy intent-free answers of the reference policy (synchronous: kept out of async
    /// functions, where the optimiser of Swift 6.3 crashes on this closure).
    func referenceGenerations(_ records: [LaMPQARecord]) throws -> [GeneratedSequence] {
        var options = GenerationOptions()
        options.greedy = true
        options.maxNewTokens = config.int("rollout.reference_max_new_tokens")
        let prompts = try records.map { try promptIds($0, intentFree: true) }
        return try withNoGrad { try parts.reference.generate(prompts: prompts, tokenizer: parts.tokenizer, options: options) }
    }

    /// The policy's rollouts for a round (synchronous, see `referenceGenerations`).
    func policyGenerations(_ prompts: [[Int]], options: GenerationOptions) throws -> [GeneratedSequence] {
        try withNoGrad { try parts.policy.generate(prompts: prompts, tokenizer: parts.tokenizer, options: options) }
    }

    /// One optimizer step; returns its metrics line.
    public func trainStep() async throws -> JSONValue {
        let clock = ContinuousClock()
        var times = Timings()
        let groupSize = config.int("rollout.group_size")
        let wanted = config.int("rollout.questions_per_step")
        let dynamic = config.bool("dapo.dynamic_sampling")
        var kept: [[Rollout]] = []
        var sampledGroups = 0
        var zeroSpread = 0
        var round = 0
        var allRollouts: [Rollout] = []
        while kept.count < wanted && round <= (dynamic ? config.int("dapo.max_extra_rounds") : 0) {
            let records = nextRecords(wanted - kept.count)
            var options = GenerationOptions()
            options.samplesPerPrompt = groupSize
            options.temperature = config.double("rollout.temperature")
            options.topP = config.double("rollout.top_p")
            options.maxNewTokens = config.int("rollout.max_new_tokens")
            options.seed = UInt64(config.int("run.seed")) &* 1_000_003 &+ UInt64(step) &* 1009 &+ UInt64(round)
            let prompts = try records.map { try promptIds($0, intentFree: false) }
            var t = clock.now
            let sequences = try policyGenerations(prompts, options: options)
            times.generation += Self.seconds(clock.now - t)
            t = clock.now
            try await ensureReferenceAnswers(records)
            times.reference += Self.seconds(clock.now - t)
            let prefill = config.string("rollout.prefill")
            var rollouts = sequences.map { s in
                let parsed = RolloutParser.parse(prefill + s.text)
                let intentTokens = parsed.intent.map { parts.tokenizer.encode($0).count } ?? 0
                return Rollout(
                    record: records[s.prompt], prompt: prompts[s.prompt], sequence: s, parsed: parsed,
                    reward: RewardParts(valid: false, contrast: 0, lengthPenalty: 0, overlong: 0, total: 0), intentTokens: intentTokens)
            }
            let validIndices = rollouts.indices.filter { rollouts[$0].parsed.isValid }
            var judgedMalformed: [Int] = []
            if case .judgedMinus = rewardSettings.malformed { judgedMalformed = rollouts.indices.filter { !rollouts[$0].parsed.isValid } }
            t = clock.now
            let allScores = try await judgeScores(
                validIndices.map { (rollouts[$0].record, rollouts[$0].parsed.answer ?? "") }
                    + judgedMalformed.map { (rollouts[$0].record, IAPTrainer.withoutTags(prefill + rollouts[$0].sequence.text)) })
            let scores = Array(allScores.prefix(validIndices.count))
            var wholeText: [Int: Double] = [:]
            for (k, i) in judgedMalformed.enumerated() { wholeText[i] = allScores[validIndices.count + k] }
            times.judge += Self.seconds(clock.now - t)
            t = clock.now
            let candidates = validIndices.map { rollouts[$0].parsed.answer ?? "" }
            let references = validIndices.map { referenceAnswers[rollouts[$0].record.id]?.text ?? "" }
            let similarities: [Double] =
                config.string("reward.similarity") == "rouge-l"
                ? zip(candidates, references).map { RougeL.f1(prediction: $0, target: $1) }
                : try parts.scorer.score(candidates: candidates, references: references, idf: config.bool("reward.idf")).map(\.f1)
            times.similarity += Self.seconds(clock.now - t)
            var partsByIndex: [Int: RewardParts] = [:]
            for (k, i) in validIndices.enumerated() {
                let reference = referenceAnswers[rollouts[i].record.id]?.score ?? 0
                partsByIndex[i] = IAPReward.compose(
                    personalization: scores[k], similarity: similarities[k], referenceScore: reference,
                    intentTokens: rollouts[i].intentTokens, completionTokens: rollouts[i].sequence.tokens.count, settings: rewardSettings)
            }
            for g in 0..<records.count {
                let indices = Array((g * groupSize)..<((g + 1) * groupSize))
                let finished = IAPReward.finishGroup(
                    indices.map { partsByIndex[$0] }, completionTokens: indices.map { rollouts[$0].sequence.tokens.count }, settings: rewardSettings,
                    wholeTextScores: indices.map { wholeText[$0] })
                for (k, i) in indices.enumerated() { rollouts[i].reward = finished[k] }
                let group = indices.map { rollouts[$0] }
                allRollouts += group
                sampledGroups += 1
                if GroupAdvantages.hasZeroSpread(group.map { $0.reward.total }) {
                    zeroSpread += 1
                    if dynamic { continue }
                }
                kept.append(group)
            }
            round += 1
        }
        // Advantages over the kept groups.
        let scaling = AdvantageScaling(rawValue: config.string("dapo.advantage_scaling")) ?? .group
        let advantages = GroupAdvantages.compute(kept.map { $0.map { $0.reward.total } }, scaling: scaling, eps: config.double("dapo.advantage_eps"))
        for g in kept.indices { for k in kept[g].indices { kept[g][k].advantage = advantages[g][k] } }
        let t = clock.now
        let update = try updatePolicy(kept.flatMap { $0 })
        times.update = Self.seconds(clock.now - t)
        step += 1
        // Metrics.
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        let valid = allRollouts.filter(\.reward.valid)
        let metrics: [(String, Double)] = [
            ("reward/mean", mean(allRollouts.map(\.reward.total))),
            ("reward/personalization", mean(allRollouts.compactMap(\.reward.personalization))),
            ("reward/similarity", mean(valid.compactMap(\.reward.similarity))),
            ("reward/reference_score", mean(valid.compactMap(\.reward.referenceScore))),
            ("reward/contrast", mean(valid.map(\.reward.contrast))),
            ("reward/length_penalty", mean(valid.map(\.reward.lengthPenalty))),
            ("reward/overlong", mean(allRollouts.map(\.reward.overlong))),
            ("format/valid_fraction", allRollouts.isEmpty ? 0 : Double(valid.count) / Double(allRollouts.count)),
            ("intent/count", mean(valid.map { Double($0.parsed.intents.count) })),
            ("intent/tokens", mean(valid.map { Double($0.intentTokens) })),
            ("response/tokens", mean(allRollouts.map { Double($0.sequence.tokens.count) })),
            ("response/truncated_fraction", mean(allRollouts.map { $0.sequence.finishReason == .length ? 1 : 0 })),
            ("update/learned_tokens", update.learnedTokens),
            ("dapo/zero_spread_fraction", sampledGroups == 0 ? 0 : Double(zeroSpread) / Double(sampledGroups)),
            ("dapo/groups_kept", Double(kept.count)), ("dapo/sampling_rounds", Double(round)),
            ("policy/kl", update.kl), ("policy/clip_low", update.clipLow), ("policy/clip_high", update.clipHigh),
            ("policy/entropy", update.entropy), ("policy/grad_norm", update.gradNorm), ("policy/loss", update.loss),
            ("policy/skipped_update", update.skipped ? 1 : 0), ("optim/lr", update.lr),
            ("time/generation", times.generation), ("time/reference", times.reference), ("time/judge", times.judge),
            ("time/similarity", times.similarity), ("time/update", times.update),
        ]
        tensorBoard?.write(step: step, scalars: metrics.filter { $0.1.isFinite })
        let line = JSONValue.object([("step", .int(step))] + metrics.map { ($0.0, $0.1.isFinite ? .double($0.1) : .null) })
        try RunFolder.appendLine(line, to: run.metricsPath)
        for r in allRollouts.prefix(config.int("run.log_rollouts")) {
            try RunFolder.appendLine(.object([
                ("step", .int(step)), ("question_id", .string(r.record.id)), ("completion", .string(r.sequence.text)),
                ("valid", .bool(r.reward.valid)), ("problem", r.parsed.problem.map { .string($0) } ?? .null),
                ("intents", .array(r.parsed.intents.map { .string($0) })), ("answer", r.parsed.answer.map { .string($0) } ?? .null),
                ("reward", .double(r.reward.total)), ("personalization", r.reward.personalization.map { .double($0) } ?? .null),
                ("similarity", r.reward.similarity.map { .double($0) } ?? .null), ("contrast", .double(r.reward.contrast)),
                ("length_penalty", .double(r.reward.lengthPenalty)), ("advantage", .double(r.advantage)),
                ("finish_reason", .string(r.sequence.finishReason.rawValue)),
            ]), to: run.rolloutsPath)
        }
        return line
    }

    struct UpdateStats {
        var loss = 0.0, kl = 0.0, clipLow = 0.0, clipHigh = 0.0, entropy = 0.0, gradNorm = 0.0, lr = 0.0
        /// Completion tokens the loss covered (after masking truncated completions).
        var learnedTokens = 0.0
        var skipped = false
    }

    /// μ policy updates over the kept rollouts, micro-batch by micro-batch.
    func updatePolicy(_ rollouts: [Rollout]) throws -> UpdateStats {
        var stats = UpdateStats()
        stats.lr = schedule.rate(at: step)
        guard !rollouts.isEmpty else {
            // Nothing to learn from (every group had zero spread): no loss, KL or entropy to
            // report, logged as null rather than a misleading 0.
            stats.skipped = true
            (stats.loss, stats.kl, stats.clipLow, stats.clipHigh, stats.entropy, stats.gradNorm) = (.nan, .nan, .nan, .nan, .nan, .nan)
            return stats
        }
        let temperature = config.double("rollout.temperature")
        let maskTruncated = config.bool("dapo.mask_truncated")
        // Either one prompt + its group's completions (optim.share_prompt: the prompt is
        // computed once per micro-batch) or whole sequences (prompt + completion); right-padded,
        // with the completion mask in log-prob coordinates.
        struct Batch {
            /// Shared prompt [P] (then `ids` are the completions [n, C]) or nil (`ids` are whole sequences).
            let prefix: Tensor?
            let ids: Tensor, valid: Tensor, completion: Tensor, advantages: Tensor
            var old: Tensor?, ref: Tensor?
        }
        let micro = max(1, config.int("optim.micro_batch"))
        let share = config.bool("optim.share_prompt")
        // Micro-batches: consecutive rollouts, and with shared prompts never two prompts in one.
        var chunks: [[Rollout]] = []
        for r in rollouts {
            if let last = chunks.last, last.count < micro, !share || last[0].prompt == r.prompt {
                chunks[chunks.count - 1].append(r)
            } else {
                chunks.append([r])
            }
        }
        var batches: [Batch] = []
        var globalTokens = 0.0
        for chunk in chunks {
            var ids: [Int64] = []
            var valid: [Bool] = []
            var completion: [Float] = []
            let width: Int
            if share {
                // Completions only; index t scores completion token t.
                width = max(1, chunk.map { $0.sequence.tokens.count }.max() ?? 1)
                for r in chunk {
                    let tokens = r.sequence.tokens
                    let use: Float = (maskTruncated && r.sequence.finishReason == .length) ? 0 : 1
                    ids += tokens.map(Int64.init) + [Int64](repeating: 0, count: width - tokens.count)
                    valid += [Bool](repeating: true, count: tokens.count) + [Bool](repeating: false, count: width - tokens.count)
                    completion += (0..<width).map { $0 < tokens.count ? use : 0 }
                }
            } else {
                // Whole sequences; index t scores token t + 1.
                width = max(2, chunk.map { $0.prompt.count + $0.sequence.tokens.count }.max() ?? 2)
                for r in chunk {
                    let sequence = r.prompt + r.sequence.tokens
                    ids += sequence.map(Int64.init) + [Int64](repeating: 0, count: width - sequence.count)
                    valid += [Bool](repeating: true, count: sequence.count) + [Bool](repeating: false, count: width - sequence.count)
                    let use: Float = (maskTruncated && r.sequence.finishReason == .length) ? 0 : 1
                    for t in 0..<(width - 1) {
                        let target = t + 1
                        completion.append(target >= r.prompt.count && target < sequence.count ? use : 0)
                    }
                }
            }
            let completionTensor = try Tensor(completion, shape: [chunk.count, share ? width : width - 1])
            globalTokens += try completionTensor.sum().item()
            stats.learnedTokens = globalTokens
            // Built on the CPU, used where the policy lives.
            let device = parts.policy.device
            batches.append(Batch(
                prefix: share ? try Tensor(chunk[0].prompt.map(Int64.init), shape: [chunk[0].prompt.count]).to(device) : nil,
                ids: try Tensor(ids, shape: [chunk.count, width]).to(device), valid: try Tensor(valid, shape: [chunk.count, width]).to(device),
                completion: try completionTensor.to(device), advantages: try Tensor(chunk.map { Float($0.advantage) }).to(device)))
        }
        func logProbs(_ model: CausalLM, _ batch: Batch, entropy: Bool = false) throws(TorchError) -> (logProbs: Tensor, entropy: Tensor?) {
            if let prefix = batch.prefix {
                return try model.continuationLogProbs(prefix: prefix, continuations: batch.ids, valid: batch.valid, temperature: temperature, entropy: entropy)
            }
            return try model.sequenceLogProbs(ids: batch.ids, valid: batch.valid, temperature: temperature, entropy: entropy)
        }
        guard globalTokens > 0 else {
            // Every kept completion was masked (all truncated with dapo.mask_truncated): no
            // token to learn from; logged as null, not as a misleading 0.
            stats.skipped = true
            (stats.loss, stats.kl, stats.clipLow, stats.clipHigh, stats.entropy, stats.gradNorm) = (.nan, .nan, .nan, .nan, .nan, .nan)
            return stats
        }
        let updates = max(1, config.int("optim.updates_per_batch"))
        try withNoGrad {
            for i in batches.indices {
                if updates > 1 { batches[i].old = try logProbs(parts.policy, batches[i]).logProbs }
                if loss.klCoefficient != 0 { batches[i].ref = try logProbs(parts.reference, batches[i]).logProbs }
            }
        }
        optimizer.learningRate = stats.lr
        var entropySum = 0.0
        for _ in 0..<updates {
            try optimizer.zeroGrad()
            var totalLoss = 0.0
            var kl = 0.0, low = 0.0, high = 0.0, active = 0.0
            for batch in batches {
                let (logp, entropy) = try logProbs(parts.policy, batch, entropy: true)
                let result = try loss(
                    logProbs: logp, oldLogProbs: batch.old ?? logp.detach(), referenceLogProbs: batch.ref, advantages: batch.advantages,
                    mask: batch.completion, globalTokens: globalTokens, globalSequences: Double(rollouts.count),
                    maxLength: config.int("rollout.max_new_tokens"))
                let value = try result.loss.item()
                guard value.isFinite else {
                    stats.skipped = true
                    break
                }
                try result.loss.backward()
                totalLoss += value
                kl += result.meanKL * result.activeTokens
                low += result.clippedLow * result.activeTokens
                high += result.clippedHigh * result.activeTokens
                active += result.activeTokens
                if let entropy { entropySum += try (entropy * batch.completion).sum().item() }
            }
            let norm = try clipGradientNorm(parts.policy.parameters.map(\.tensor), maxNorm: config.double("optim.max_grad_norm"))
            stats.gradNorm = norm
            if stats.skipped || !norm.isFinite {
                // A non-finite loss or gradient: drop this update, weights untouched.
                stats.skipped = true
                try optimizer.zeroGrad()
                break
            }
            try optimizer.step()
            stats.loss = totalLoss
            stats.kl = active > 0 ? kl / active : 0
            stats.clipLow = active > 0 ? low / active : 0
            stats.clipHigh = active > 0 ? high / active : 0
        }
        stats.entropy = globalTokens > 0 ? entropySum / (globalTokens * Double(updates)) : 0
        return stats
    }
}

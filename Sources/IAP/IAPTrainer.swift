import FileIO
import IAPCore
import JSONFiles
import LaMPQA
import LaMPQACore
import ModelFormats
import Torch
import Transformers

/// The IAP training loop (paper Algorithm 1 with DAPO, SPEC-RL.md). A step (`trainStep`,
/// IAPTrainer+Step.swift) samples G tagged rollouts per question, scores their answers
/// (rubric judge, contrast with the reference policy's intent-free answer, intent length),
/// turns rewards into group-relative advantages, drops zero-spread groups (sampling more
/// questions for a bounded number of extra rounds), and updates the policy μ times with the
/// clipped, KL-regularised, token-aggregated objective (PolicyUpdate.swift).
public final class IAPTrainer: CheckpointedTrainer, @unchecked Sendable {
    /// The models and data a trainer works with.
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
        /// The policy's chat template text, written with checkpoints.
        public var chatTemplateText: String?
        public init(
            policy: CausalLM, reference: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, judge: RubricJudge,
            judgeCache: JudgeCache?,
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
    /// The rollout prompt's own words: a block that copies them is malformed.
    let echo: PromptEcho
    /// AdamW over the policy's weights (the rule a sharded optimizer follows too).
    let trainable: AdamW
    /// How the ranks share the step (`dist.strategy`); one process until `distribute(over:)`.
    var strategy: any ParallelStrategy
    /// The optimizer the strategy steps: AdamW, or this rank's shard of it.
    var optimizer: any Optimizer { strategy.optimizer }
    let schedule: LearningRateSchedule
    let loss: PolicyLoss
    /// Rank 0's event file, made at the first step (after `dataParallel` is set): other
    /// ranks write none.
    lazy var tensorBoard: TensorBoardWriter? = dataParallel.isMain ? try? TensorBoardWriter(folder: run.path) : nil
    /// Completed optimizer steps.
    public internal(set) var step = 0
    /// Position in the current epoch's shuffled question order.
    var cursor = 0
    var epoch = 0
    var order: [Int] = []
    var referenceAnswers: [String: ReferenceAnswer] = [:]
    /// The job's ranks (`dist:`); one process by default (`distribute(over:)`).
    public var dataParallel: DataParallel { strategy.ranks }
    public var ranks: any JobRanks { dataParallel }
    /// How the policy's passes with autograd run (`policy.gradient_checkpointing`, kept
    /// logits; the strategy's block hooks).
    var trainingPass: TrainingPass { strategy.trainingPass }

    /// Makes this trainer one rank of `parallel`, before the first step (and before a
    /// restore): the strategy `dist.strategy` names takes over the optimizer, and under
    /// `fsdp` the policy's and the reference's weights.
    public func distribute(over parallel: DataParallel) throws {
        let reference = parts.reference !== parts.policy ? parts.reference : nil
        strategy = try parallel.strategy(policy: parts.policy, reference: reference, optimizer: trainable, pass: config.trainingPass)
    }

    /// `body` with the policy's weights whole (they are sharded under `fsdp`).
    func withWholePolicy<R>(_ body: () throws -> R) throws -> R { try strategy.withWholePolicy(body) }

    /// `body` with the reference's weights whole (sharded under `fsdp`).
    func withWholeReference<R>(_ body: () throws -> R) throws -> R { try strategy.withWholeReference(body) }

    public init(config: TrainConfig, run: RunFolder, parts: Parts) throws {
        try config.validate()
        guard !parts.records.isEmpty else { throw ConfigError("data: no training questions") }
        self.config = config
        self.run = run
        self.parts = parts
        echo = PromptEcho(parts.prompt)
        trainable = try config.trainableOptimizer(for: parts.policy)
        strategy = SingleProcess(optimizer: trainable, pass: config.trainingPass)
        schedule = config.optim.learningRateSchedule(totalSteps: config.run.steps)
        loss = PolicyLoss(config.dapo)
        for answer in try JSONLines.read(ReferenceAnswer.self, from: run.referencePath).records { referenceAnswers[answer.id] = answer }
        order = shuffledOrder(epoch: 0)
    }

    public var totalSteps: Int { config.run.steps }

    public func prepare() async throws {}

    // MARK: Data order

    func shuffledOrder(epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: UInt64(config.run.seed) &* 6_364_136_223_846_793_005 &+ UInt64(epoch))
        return Array(parts.records.indices).shuffled(using: &rng)
    }

    /// The next `count` questions of the epoch's shuffled order (a new epoch reshuffles).
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

    // MARK: Checkpoints

    /// Writes checkpoints/step-N (weights, tokenizer, config, optimizer, trainer state) and
    /// keeps the newest `run.keep_checkpoints`. Called on every rank: under `zero2` and
    /// `fsdp` each writes its optimizer shard first (under `fsdp` the weights are gathered
    /// for rank 0 to write); rank 0 writes the folder.
    public func saveCheckpoint() throws {
        try withWholePolicy {
            guard let files = try strategy.checkpointFiles(run: run) else { return }
            let state = TrainerState(step: step, cursor: cursor, epoch: epoch, seed: config.run.seed, optimizerStep: optimizer.stepCount)
            try TrainingCheckpoint.save(
                policy: parts.policy, tokenizer: parts.tokenizer, chatTemplate: parts.chatTemplateText, optimizer: files, state: state,
                run: run,
                step: step, keep: config.run.keepCheckpoints, format: RolloutFormat(config.rollout, prompt: parts.prompt))
        }
    }

    /// Restores weights, optimizer, data position and step from a checkpoint folder, and
    /// trims metrics/rollouts written after it.
    public func restore(from folder: String) throws {
        // Under fsdp the weights are loaded whole, and the optimizer cuts its shards from them.
        let state = try withWholePolicy {
            try TrainingCheckpoint.restore(from: folder, policy: parts.policy, lastStep: config.run.steps) {
                try strategy.restoreOptimizer(from: $0)
            }
        }
        guard let savedCursor = state.cursor, let savedEpoch = state.epoch else {
            throw ConfigError("\(folder)/\(TrainerState.fileName): no cursor or epoch (an iap sft checkpoint?)")
        }
        guard savedCursor <= order.count else {
            throw ConfigError(
                "\(folder)/\(TrainerState.fileName): cursor \(savedCursor) is past the \(order.count) training questions (another data set?)"
            )
        }
        step = state.step
        cursor = savedCursor
        epoch = savedEpoch
        order = shuffledOrder(epoch: epoch)
        guard dataParallel.isMain else { return }
        try RunFolder.truncate(run.metricsPath, afterStep: step)
        try RunFolder.truncate(run.rolloutsPath, afterStep: step)
    }
}

extension PolicyLoss {
    /// The objective `dapo.*` describes.
    init(_ dapo: TrainConfig.DAPO) {
        self.init()
        clipLow = dapo.clipLow
        clipHigh = dapo.clipHigh
        dualClip = dapo.dualClip
        klCoefficient = dapo.klCoef
        aggregation = dapo.aggregation
    }
}

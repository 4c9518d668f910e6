import IAPCore
import LaMPQA
import ModelFormats
import FileIO
import JSONFiles
import Torch
import Transformers
import LaMPQACore

/// The SFT baseline (paper §4): for each training question the starting policy writes
/// `sft.samples` answers, the judge scores them, the best one becomes the question's silver
/// label, and the policy is fine-tuned on (prompt, label) pairs with cross-entropy on the
/// label's tokens only (the prompt is context, not target).
///
/// Labelling is resumable (one line per question in silver-labels.jsonl, questions already
/// there are skipped); fine-tuning uses the same run folder, checkpoints and resumption as
/// `iap train`. A step takes `sft.batch_size` labels of the epoch's seeded order, so the
/// position in the data follows from the step alone.
public final class SFTTrainer: CheckpointedTrainer, @unchecked Sendable {
    public struct Parts: Sendable {
        public var policy: CausalLM
        public var tokenizer: Tokenizer
        public var template: ChatTemplate
        public var judge: RubricJudge
        public var judgeCache: JudgeCache?
        public var records: [LaMPQARecord]
        public var input: PolicyInputBuilder
        public var chatTemplateText: String?
        public init(
            policy: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, judge: RubricJudge, judgeCache: JudgeCache?,
            records: [LaMPQARecord],
            input: PolicyInputBuilder, chatTemplateText: String?
        ) {
            self.policy = policy
            self.tokenizer = tokenizer
            self.template = template
            self.judge = judge
            self.judgeCache = judgeCache
            self.records = records
            self.input = input
            self.chatTemplateText = chatTemplateText
        }
    }

    public typealias Label = SilverLabel

    public let config: TrainConfig
    public let run: RunFolder
    let parts: Parts
    /// AdamW over the policy's weights (the rule a sharded optimizer follows too).
    let trainable: AdamW
    /// How the ranks share the step (`dist.strategy`: ddp or zero2); one process until
    /// `distribute(over:)`.
    var strategy: any ParallelStrategy
    /// The optimizer the strategy steps.
    var optimizer: any Optimizer { strategy.optimizer }
    let schedule: LearningRateSchedule
    let method: AnsweringMethod
    /// Rank 0's event file, made at the first step (after `dataParallel` is set): other
    /// ranks write none.
    lazy var tensorBoard: TensorBoardWriter? = dataParallel.isMain ? try? TensorBoardWriter(folder: run.path) : nil
    public private(set) var step = 0
    public private(set) var labels: [Label] = []
    /// Progress messages (labelling), for the command's display.
    public var progress: @Sendable (String) -> Void = { _ in }
    /// Asked between labelling batches; true stops labelling early (labels so far are kept).
    public var shouldStop: @Sendable () -> Bool = { false }
    /// The job's ranks (`dist:`); one process by default (`distribute(over:)`).
    public var dataParallel: DataParallel { strategy.ranks }
    public var ranks: any JobRanks { dataParallel }

    /// Makes this trainer one rank of `parallel`, before `prepare` (and before a restore):
    /// the strategy decides whether the optimizer's state is sharded. SFT's micro-batches are
    /// not lock-stepped, so gradients are summed after the backward passes.
    public func distribute(over parallel: DataParallel) throws {
        strategy = try parallel.strategy(
            policy: parts.policy, reference: nil, optimizer: trainable, pass: config.trainingPass, lockStepped: false)
    }

    public var labelsPath: String { run.labelsPath }
    public var stepsPerEpoch: Int { SFTTrainer.steps(labels: parts.records.count, batchSize: batchSize, epochs: 1) }
    public var totalSteps: Int { SFTTrainer.steps(labels: parts.records.count, batchSize: batchSize, epochs: config.sft.epochs) }

    /// ceil(labels / batch) steps per epoch (at least one), times the epochs.
    static func steps(labels: Int, batchSize: Int, epochs: Int) -> Int {
        max(1, (labels + max(1, batchSize) - 1) / max(1, batchSize)) * max(1, epochs)
    }
    var batchSize: Int { max(1, config.sft.batchSize) }

    public init(config: TrainConfig, run: RunFolder, parts: Parts) throws {
        self.config = config
        self.run = run
        self.parts = parts
        guard !parts.records.isEmpty else { throw ConfigError("data: no training questions") }
        try config.validate()
        self.method = .baseline(config.sft.method)
        trainable = try config.trainableOptimizer(for: parts.policy)
        strategy = SingleProcess(optimizer: trainable, pass: config.trainingPass)
        schedule = config.optim.learningRateSchedule(
            totalSteps: SFTTrainer.steps(labels: parts.records.count, batchSize: config.sft.batchSize, epochs: config.sft.epochs))
    }

    // MARK: Silver labels

    /// Reads the labels already in the run folder, labels the remaining questions (a few at a
    /// time, each batch's lines appended as soon as it is judged), and keeps them in record order.
    public func prepare() async throws {
        var byId: [String: Label] = [:]
        let vocabulary = parts.policy.config.vocabSize
        var rejected = 0
        for label in try JSONLines.read(SilverLabel.self, from: labelsPath).records {
            // A label written for another model (or edited by hand) is asked again, not trained on.
            guard (label.promptIds + label.replyIds).allSatisfy({ $0 >= 0 && $0 < vocabulary }) else {
                rejected += 1
                continue
            }
            byId[label.id] = label
        }
        if rejected > 0 {
            progress(
                "silver labels: \(rejected) line(s) of \(labelsPath) hold token ids outside this model's vocabulary; those questions are labelled again"
            )
        }
        let missing = parts.records.filter { byId[$0.id] == nil }
        if !missing.isEmpty { progress("silver labels: \(byId.count) of \(parts.records.count) done, labelling \(missing.count)") }
        let chunk = 8
        for start in stride(from: 0, to: missing.count, by: chunk) {
            // Ctrl-C reaches the ranks at different moments: they stop at the same chunk.
            if try dataParallel.sum([shouldStop() ? 1 : 0])[0] > 0 {
                progress("silver labels: stopped after \(start) of \(missing.count); the rest are labelled on --resume")
                break
            }
            // Each rank labels its share of the chunk; rank 0 writes them all, in order.
            let (records, first) = dataParallel.share(Array(missing[start..<min(start + chunk, missing.count)]))
            for label in try dataParallel.gather(try await silverLabels(records, firstIndex: start + first)) {
                if dataParallel.isMain { try JSONLines.append(label, to: labelsPath) }
                byId[label.id] = label
            }
            progress("silver labels: \(min(start + chunk, missing.count))/\(missing.count) questions labelled")
        }
        labels = parts.records.compactMap { byId[$0.id] }
    }

    /// The best-scored of `sft.samples` candidates for each record (`firstIndex`: the first
    /// record's place among the questions being labelled, which seeds its sampling).
    func silverLabels(_ records: [LaMPQARecord], firstIndex: Int) async throws -> [SilverLabel] {
        guard !records.isEmpty else { return [] }
        let candidates = try candidateAnswers(records, firstIndex: firstIndex)
        let recordById = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var evaluator = Evaluator(judge: parts.judge, cache: parts.judgeCache)
        evaluator.retryRounds = config.judge.retryRounds
        let scores = try await evaluator.scores(
            of: candidates.compactMap { answer in recordById[answer.id].map { (record: $0, answer: answer.response) } })
        return records.compactMap { record in
            let indices = candidates.indices.filter { candidates[$0].id == record.id }
            guard let best = indices.max(by: { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }) else { return nil }
            return SilverLabel(
                id: record.id, score: scores[best], response: candidates[best].response, candidateScores: indices.map { scores[$0] },
                promptIds: candidates[best].promptIds, replyIds: candidates[best].replyIds)
        }
    }

    /// `sft.samples` sampled answers per record (synchronous: see AnswerGenerator); each
    /// record samples from its own seed (run seed, its place `firstIndex + i`), so a record's
    /// candidates do not depend on which rank or batch it lands in.
    func candidateAnswers(_ records: [LaMPQARecord], firstIndex: Int) throws -> [GeneratedAnswer] {
        var options = GenerationOptions()
        options.decodeSteps = config.policy.decodeSteps
        options.samplesPerPrompt = config.sft.samples
        options.temperature = config.sft.temperature
        options.topP = config.sft.topP
        options.maxNewTokens = config.sft.maxNewTokens
        options.seed = UInt64(config.run.seed) &* 7919 &+ UInt64(firstIndex)
        if case .iap = method { options.scaffold = RolloutFormat(config.rollout).blockScaffold }
        var generator = AnswerGenerator(
            model: parts.policy, tokenizer: parts.tokenizer, template: parts.template,
            input: PolicyInputBuilder(mode: method.input(parts.input.mode), rank: parts.input.rank), method: method, options: options)
        generator.batch = records.count
        var seeds: [String: UInt64] = [:]
        for (i, record) in records.enumerated() where seeds[record.id] == nil { seeds[record.id] = options.seed &+ UInt64(i) }
        generator.recordSeeds = seeds
        return try generator.answer(records)
    }

    // MARK: Fine-tuning

    /// Label indices of a step: the epoch's seeded permutation, `batch_size` at a time.
    public func batchIndices(step: Int) -> [Int] {
        let epoch = step / stepsPerEpoch
        let position = step % stepsPerEpoch
        var rng = SplitMix64(seed: UInt64(config.run.seed) &* 0x9E37_79B9 &+ UInt64(epoch))
        let order = Array(labels.indices).shuffled(using: &rng)
        let start = position * batchSize
        return start < order.count ? Array(order[start..<min(start + batchSize, order.count)]) : []
    }

    /// Right-padded ids, validity and the target mask in log-prob coordinates (index t scores
    /// token t + 1): 1 exactly on the reply's tokens.
    public static func batch(_ labels: [Label], device: Device = .cpu) throws(TorchError) -> (ids: Tensor, valid: Tensor, target: Tensor) {
        let width = max(2, labels.map { $0.promptIds.count + $0.replyIds.count }.max() ?? 2)
        var ids: [Int64] = []
        var valid: [Bool] = []
        var target: [Float] = []
        for label in labels {
            let sequence = label.promptIds + label.replyIds
            ids += sequence.map(Int64.init) + [Int64](repeating: 0, count: width - sequence.count)
            valid += [Bool](repeating: true, count: sequence.count) + [Bool](repeating: false, count: width - sequence.count)
            for t in 0..<(width - 1) { target.append(t + 1 >= label.promptIds.count && t + 1 < sequence.count ? 1 : 0) }
        }
        return (
            try Tensor(ids, shape: [labels.count, width]).to(device), try Tensor(valid, shape: [labels.count, width]).to(device),
            try Tensor(target, shape: [labels.count, width - 1]).to(device)
        )
    }

    public func trainStep() async throws -> MetricsLine { try fineTuneStep() }

    /// Forward and backward of the step's labels `micro` at a time; the summed loss, nil when
    /// one is not finite.
    func accumulateGradients(_ chosen: [Label], micro: Int, tokens: Double) throws -> Double? {
        var total = 0.0
        for start in stride(from: 0, to: chosen.count, by: micro) {
            let (ids, valid, target) = try SFTTrainer.batch(
                Array(chosen[start..<min(start + micro, chosen.count)]), device: parts.policy.device)
            let logp = try parts.policy.sequenceLogProbs(ids: ids, valid: valid, pass: config.trainingPass).logProbs
            let loss = try (logp * target).sum() * (-1 / tokens)
            let value = try loss.item()
            guard value.isFinite else { return nil }
            try loss.backward()
            total += value
        }
        return total
    }

    /// Cross-entropy averaged over every label token of the step (of every rank: each rank
    /// takes its share of the step's labels), accumulated over micro-batches; a non-finite
    /// loss on any rank, or gradient, skips the update everywhere.
    func fineTuneStep() throws -> MetricsLine {
        let clock = ContinuousClock()
        let started = clock.now
        let chosen = batchIndices(step: step).map { labels[$0] }
        let lr = schedule.rate(at: step)
        optimizer.learningRate = lr
        try optimizer.zeroGrad()
        let tokens = Double(chosen.reduce(0) { $0 + $1.replyIds.count })
        var total = 0.0
        var skipped = chosen.isEmpty || tokens == 0
        var norm = 0.0
        if !skipped {
            let mine = dataParallel.share(chosen).items
            let local = try withAutocast(config.autocastDType, device: parts.policy.device) {
                try accumulateGradients(mine, micro: max(1, config.optim.microBatch), tokens: tokens)
            }
            let sums = try dataParallel.sum([local == nil ? 1 : 0, local ?? 0])
            let parameters = parts.policy.parameters.map(\.tensor)
            let maxNorm = config.optim.maxGradNorm
            skipped = sums[0] > 0
            total = sums[1]
            norm =
                try skipped
                ? clipGradientNorm(parameters, maxNorm: maxNorm)
                : strategy.reduceAndClip(parameters, maxNorm: maxNorm)
            if skipped || !norm.isFinite {
                skipped = true
                try optimizer.zeroGrad()
            } else {
                try optimizer.step()
            }
        }
        step += 1
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let line = MetricsLine(
            step: step,
            values: [
                ("sft/loss", skipped ? nil : total), ("sft/label_tokens", tokens), ("sft/labels", Double(chosen.count)),
                ("sft/label_score", chosen.isEmpty ? 0 : chosen.map(\.score).reduce(0, +) / Double(chosen.count)),
                ("sft/epoch", Double((step - 1) / stepsPerEpoch)), ("policy/grad_norm", norm), ("policy/skipped_update", skipped ? 1 : 0),
                ("optim/lr", lr), ("time/update", seconds),
            ])
        guard dataParallel.isMain else { return line }
        tensorBoard?.write(step: step, scalars: line.values.compactMap { key, value in value.map { (key, $0) } }.sorted { $0.0 < $1.0 })
        try JSONLines.append(line, to: run.metricsPath)
        return line
    }

    /// Called on every rank (see `IAPTrainer.saveCheckpoint`).
    public func saveCheckpoint() throws {
        guard let files = try strategy.checkpointFiles(run: run) else { return }
        let state = TrainerState(step: step, seed: config.run.seed, optimizerStep: optimizer.stepCount)
        try TrainingCheckpoint.save(
            policy: parts.policy, tokenizer: parts.tokenizer, chatTemplate: parts.chatTemplateText, optimizer: files, state: state,
            run: run, step: step, keep: config.run.keepCheckpoints, format: RolloutFormat(config.rollout))
    }

    public func restore(from folder: String) throws {
        // SFT's length is its epochs over the labels, known only once they are made.
        step = try TrainingCheckpoint.restore(from: folder, policy: parts.policy, lastStep: nil) {
            try strategy.restoreOptimizer(from: $0)
        }.step
        guard dataParallel.isMain else { return }
        try RunFolder.truncate(run.metricsPath, afterStep: step)
    }
}

import FileIO
import IAPCore
import LaMPQA
import LaMPQACore
import ModelFormats
import ModelStore
import Torch
import Transformers

/// The trainers of a job, assembled from its typed config: models by their names (pulled or
/// fetched when missing), the judge and its verdict cache, the questions and what the policy
/// is shown. `log` hears about downloads.
extension TrainingJob {
    /// The policy's device and weight type (`policy.device`, resolved; `policy.dtype`).
    public func runtime() throws(TrainingJobError) -> (dtype: DType, device: Device) {
        guard let choice = DeviceChoice(config.policy.device) else {
            throw TrainingJobError("policy.device: '\(config.policy.device)' is not auto, cpu, cuda or cuda:N")
        }
        do { return (config.policy.dtype.dtype, try choice.resolved()) } catch {
            throw TrainingJobError("policy.device \(config.policy.device): \(error)")
        }
    }

    /// The IAP trainer: policy and frozen reference (with LoRA, the policy with its adapters
    /// off: no second copy), the BERTScore scorer, the judge. `checkFits` sees the policy's
    /// shape and device before any weight is loaded (iap train's memory check).
    public func makeIAPTrainer(
        checkFits: (CausalLMConfig, Device) throws -> Void = { _, _ in }, log: @escaping PretrainedModel.Log = { _ in }
    ) throws -> IAPTrainer {
        let cfg = config
        let runtime = try runtime()
        let files = try PretrainedModel.files(cfg.policy.model, log: log)
        if case .causalLM(let shape) = files.config { try checkFits(shape, runtime.device) }
        let tokenizer = try files.loadTokenizer()
        let policy = try cfg.trainedModel(CausalLM.load(files, dtype: runtime.dtype, device: runtime.device))
        let reference =
            policy.lora != nil ? policy.withoutAdapters() : try CausalLM.load(files, dtype: runtime.dtype, device: runtime.device)
        let template = try files.chatTemplate(file: cfg.policy.chatTemplate)
        let (judge, cache) = try judge(log: log)
        let similarityFiles = try PretrainedModel.files(cfg.reward.similarityModel, log: log)
        let encoder = try TextEncoders.load(similarityFiles, device: runtime.device)
        let encoderTokenizer = try similarityFiles.loadTokenizer()
        let layer = min(cfg.reward.similarityLayer ?? encoder.layerCount, encoder.layerCount)
        let baseline: BERTScoreBaseline?
        do {
            baseline = try cfg.reward.similarityBaseline.map { (path) throws(FileIOError) in try BERTScoreBaseline.load(path, layer: layer)
            }
        } catch {
            throw TrainingJobError("reward.similarity_baseline: \(error)")
        }
        let scorer = BERTScorer(encoder: encoder, tokenizer: encoderTokenizer, layer: layer, baseline: baseline)
        let prompt = try cfg.rollout.promptFile.map { (p) throws(RolloutPromptError) in try RolloutPrompt.load(p) } ?? .standard
        let parts = IAPTrainer.Parts(
            policy: policy, reference: reference, tokenizer: tokenizer, template: template, judge: judge, judgeCache: cache, scorer: scorer,
            records: try records(),
            input: PolicyInputBuilder(mode: cfg.data.input, rank: PolicyInputBuilder.encoderRanker(encoder, tokenizer: encoderTokenizer)),
            prompt: prompt, chatTemplateText: files.chatTemplateText)
        let trainer = try IAPTrainer(config: cfg, run: run, parts: parts)
        try trainer.distribute(over: parallel)
        return trainer
    }

    /// The SFT baseline's trainer: the policy, the judge that picks the silver labels, and —
    /// for profile inputs — the similarity encoder that ranks profile posts, as in iap train.
    public func makeSFTTrainer(log: @escaping PretrainedModel.Log = { _ in }) throws -> SFTTrainer {
        let cfg = config
        let runtime = try runtime()
        let opened = try PretrainedModel.languageModel(
            cfg.policy.model, chatTemplate: cfg.policy.chatTemplate, dtype: runtime.dtype, device: runtime.device, log: log)
        let policy = try cfg.trainedModel(opened.model)
        let (judge, cache) = try judge(log: log)
        let input: PolicyInputBuilder
        if case .withProfile = cfg.data.input {
            let encoderFiles = try PretrainedModel.files(cfg.reward.similarityModel, log: log)
            let encoder = try TextEncoders.load(encoderFiles, device: runtime.device)
            input = PolicyInputBuilder(
                mode: cfg.data.input, rank: PolicyInputBuilder.encoderRanker(encoder, tokenizer: try encoderFiles.loadTokenizer()))
        } else {
            input = PolicyInputBuilder(mode: cfg.data.input) { _, posts in Array(posts.indices) }
        }
        let parts = SFTTrainer.Parts(
            policy: policy, tokenizer: opened.tokenizer, template: opened.template, judge: judge, judgeCache: cache, records: try records(),
            input: input, chatTemplateText: opened.files.chatTemplateText)
        let trainer = try SFTTrainer(config: cfg, run: run, parts: parts)
        try trainer.distribute(over: parallel)
        return trainer
    }

    /// The rubric judge of `judge.*` and the verdict cache every run on this machine shares.
    public func judge(log: @escaping PretrainedModel.Log = { _ in }) throws -> (RubricJudge, JudgeCache) {
        var settings = RubricJudgeSettings()
        settings.backend = config.judge.backend
        settings.model = config.judge.model
        settings.adapter = config.judge.adapter
        settings.urls = config.judge.urls
        settings.apiKeyVariable = config.judge.apiKeyEnv
        settings.concurrency = config.judge.concurrency
        settings.maxTokens = config.judge.maxTokens
        settings.promptFile = config.judge.promptFile
        let judge = try settings.makeJudge(log: log)
        try FileSystem.makeDirectories(ModelStore.defaultCacheRoot + "/judge")
        return (judge, try JudgeCache(path: ModelStore.defaultCacheRoot + "/judge/verdicts.jsonl"))
    }

    /// The training questions of `data.*`.
    public func records() throws -> [LaMPQARecord] {
        var options = LaMPQADataset.Options()
        options.split = config.data.split
        options.limit = config.data.limit
        options.domains = config.data.domains
        return try LaMPQADataset(folder: config.data.folder, options: options).records
    }
}

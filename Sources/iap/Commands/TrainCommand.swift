import ArgumentParser
import CommandSupport
import FileIO
import IAP
import LaMPQA
import ModelStore
import ModelFormats
import SafeTensors
import Torch
import Transformers
import LaMPQACore
import IAPCore

/// `iap train`: IAP training with DAPO.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a policy with IAP (intent-aware rollouts, rubric + contrast + length reward, DAPO).")

    @OptionGroup var options: TrainingOptions

    func run() async throws {
        if try options.printedConfig() || options.launchedRanks() { return }
        let (cfg, folder, run, parallel) = try options.openJob()
        try TrainingSession.prepareEngine(cfg)
        let trainer = try makeTrainer(cfg, run: run)
        try trainer.distribute(over: parallel)
        try await TrainingSession.drive(trainer, cfg: cfg, folder: folder, run: run, resuming: options.resume != nil, command: "train") {
            line in
            let v = { (key: String) in TrainingSession.value(line, key) }
            return "reward \(v("reward/mean"))  parts: rubric \(v("reward/personalization")) contrast \(v("reward/contrast")) "
                + "similarity \(v("reward/similarity")) length \(v("reward/length_penalty"))  valid \(v("format/valid_fraction")) copied \(v("format/copied_prompt_fraction")) "
                + "repeated \(v("format/repeated_lines_fraction"))  "
                + "intents \(v("intent/count"))  kl \(v("policy/kl"))"
        }
    }

    func makeTrainer(_ cfg: TrainConfig, run: RunFolder) throws -> IAPTrainer {
        let runtime = try CLI.runtime(dtype: cfg.policy.dtype.rawValue, device: cfg.policy.device)
        let files = try CLI.openModel(cfg.policy.model)
        if !options.noMemoryCheck, case .causalLM(let shape) = files.config {
            try MemoryCheck.refuseIfItCannotFit(cfg, shape: shape, device: runtime.device)
        }
        let tokenizer = try CLI.loadTokenizer(files)
        let policy: CausalLM
        let reference: CausalLM
        let template: ChatTemplate
        do {
            policy = try cfg.trainedModel(CausalLM.load(files, dtype: runtime.dtype, device: runtime.device))
            // With LoRA the reference is the same weights with the adapters off: no second copy.
            reference =
                policy.lora != nil ? policy.withoutAdapters() : try CausalLM.load(files, dtype: runtime.dtype, device: runtime.device)
            template = try files.chatTemplate(file: cfg.policy.chatTemplate)
        } catch {
            throw CLI.failure("\(error)")
        }
        let (judge, cache) = try TrainingSession.judge(cfg)
        let similarityFiles = try CLI.openModel(cfg.reward.similarityModel)
        let encoder: any TextEncoder
        do { encoder = try TextEncoders.load(similarityFiles, device: runtime.device) } catch { throw CLI.failure(error) }
        let encoderTokenizer = try CLI.loadTokenizer(similarityFiles)
        let layer = min(cfg.reward.similarityLayer ?? encoder.layerCount, encoder.layerCount)
        let baseline: BERTScoreBaseline?
        do {
            baseline = try cfg.reward.similarityBaseline.map { (path) throws(FileIOError) in try BERTScoreBaseline.load(path, layer: layer)
            }
        } catch {
            throw CLI.failure("reward.similarity_baseline: \(error)")
        }
        let scorer = BERTScorer(encoder: encoder, tokenizer: encoderTokenizer, layer: layer, baseline: baseline)
        let records = try TrainingSession.records(cfg)
        let input = TrainingSession.input(cfg, ranker: PolicyInputBuilder.encoderRanker(encoder, tokenizer: encoderTokenizer))
        let prompt: RolloutPrompt
        do { prompt = try cfg.rollout.promptFile.map { (p) throws(RolloutPromptError) in try RolloutPrompt.load(p) } ?? .standard } catch {
            throw CLI.failure(error)
        }
        let parts = IAPTrainer.Parts(
            policy: policy, reference: reference, tokenizer: tokenizer, template: template, judge: judge, judgeCache: cache, scorer: scorer,
            records: records, input: input, prompt: prompt, chatTemplateText: files.chatTemplateText)
        do { return try IAPTrainer(config: cfg, run: run, parts: parts) } catch { throw CLI.failure("\(error)") }
    }
}

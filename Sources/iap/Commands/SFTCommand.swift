import ArgumentParser
import CommandSupport
import IAP
import LaMPQA
import ModelFormats
import SafeTensors
import Torch
import Transformers
import LaMPQACore
import IAPCore

/// `iap sft`: the SFT baseline — best-of-N silver labels judged by the rubric judge, then
/// fine-tuning on them; the run folder, checkpoints and --resume work as for `iap train`.
struct SFTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "SFT baseline: N answers per training question, the judge's best kept as a silver label, fine-tuning on the labels.",
        discussion: """
            Uses the same YAML as iap train (run, policy, data, judge, optim) plus the sft section: samples (5), method \
            (direct, non-personalized or implicit-intent: the prompt the labels are written and learned with), temperature, \
            top_p, max_new_tokens, epochs, batch_size. Answer with the trained model through the same prompt: \
            iap answer --method <sft.method> --model RUN/final.
            """)

    @OptionGroup var options: TrainingOptions

    func run() async throws {
        if try options.printedConfig() { return }
        _ = try options.checkedRankCount()  // a wrong --nproc-per-node is named before the config is read
        let strategy = try TrainingSession.effectiveConfig(config: options.config, overrides: options.overrides, resume: options.resume)
            .dist.strategy
        guard strategy != .fsdp else {
            throw CLI.failure("dist.strategy: fsdp is built for iap train; iap sft shards with zero2 (or replicates with ddp)")
        }
        if try options.launchedRanks() { return }
        let (cfg, folder, run, parallel) = try options.openJob()
        try TrainingSession.prepareEngine(cfg)
        let runtime = try CLI.runtime(dtype: cfg.policy.dtype.rawValue, device: cfg.policy.device)
        let (files, tokenizer, base, template) = try CLI.openLanguageModel(
            cfg.policy.model, chatTemplate: cfg.policy.chatTemplate, dtype: runtime.dtype, device: runtime.device)
        let policy: CausalLM
        do { policy = try cfg.trainedModel(base) } catch { throw CLI.failure(error) }
        let (judge, cache) = try TrainingSession.judge(cfg)
        let records = try TrainingSession.records(cfg)
        let input: PolicyInputBuilder
        if case .withProfile = cfg.data.input {
            // Profile posts are ranked by the similarity encoder, as in iap train.
            let encoderFiles = try CLI.openModel(cfg.reward.similarityModel)
            let encoder: any TextEncoder
            do { encoder = try TextEncoders.load(encoderFiles, device: runtime.device) } catch { throw CLI.failure(error) }
            input = TrainingSession.input(
                cfg, ranker: PolicyInputBuilder.encoderRanker(encoder, tokenizer: try CLI.loadTokenizer(encoderFiles)))
        } else {
            input = TrainingSession.input(cfg) { _, posts in Array(posts.indices) }
        }
        let trainer: SFTTrainer
        do {
            trainer = try SFTTrainer(
                config: cfg, run: run,
                parts: SFTTrainer.Parts(
                    policy: policy, tokenizer: tokenizer, template: template, judge: judge, judgeCache: cache, records: records,
                    input: input,
                    chatTemplateText: files.chatTemplateText))
        } catch {
            throw CLI.failure("\(error)")
        }
        trainer.dataParallel = parallel
        let isMain = parallel.isMain
        trainer.progress = { if isMain { CLI.note($0) } }
        trainer.shouldStop = { trainingStopRequested != 0 || RankLauncher.launcherIsGone }
        try await TrainingSession.drive(trainer, cfg: cfg, folder: folder, run: run, resuming: options.resume != nil, command: "sft") {
            line in
            "loss \(TrainingSession.value(line, "sft/loss"))  label score \(TrainingSession.value(line, "sft/label_score"))  "
                + "grad norm \(TrainingSession.value(line, "policy/grad_norm"))"
        }
    }
}

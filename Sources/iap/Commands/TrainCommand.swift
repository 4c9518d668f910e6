import ArgumentParser
import IAP
import LaMPQA
import ModelStore
import ModelFormats
import SafeTensors
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT: finish the current step, save a checkpoint, stop.
nonisolated(unsafe) var trainingStopRequested: sig_atomic_t = 0

/// `iap train`: IAP training with DAPO.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a policy with IAP (intent-aware rollouts, rubric + contrast + length reward, DAPO).")

    @Option(help: "YAML configuration (configs/demo-cpu.yaml, configs/paper-qwen2.5-7b-instruct.yaml).")
    var config: String?

    @Option(help: "Run folder (default runs/<run.name>).")
    var runDir: String?

    @Option(name: .customLong("set"), help: "Override one key: section.key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Continue the run in this folder from its last checkpoint.")
    var resume: String?

    func run() async throws {
        var cfg = TrainConfig()
        let folderPath: String
        if let resume {
            let saved = resume + "/config.yaml"
            do { try cfg.apply(yaml: String(decoding: try AtomicFile.read(saved), as: UTF8.self), source: saved) } catch {
                throw CLI.failure("\(error)")
            }
            folderPath = resume
        } else {
            if let config {
                do { try cfg.apply(yaml: String(decoding: try AtomicFile.read(config), as: UTF8.self), source: config) } catch {
                    throw CLI.failure("\(error)")
                }
            }
            folderPath = runDir ?? "runs/\(cfg.string("run.name"))"
        }
        for o in overrides {
            do { try cfg.apply(override: o) } catch { throw CLI.failure(error) }
        }
        let run: RunFolder
        do { run = try RunFolder(path: folderPath) } catch { throw CLI.failure(error) }
        if resume == nil && !run.checkpointSteps().isEmpty {
            throw CLI.failure("\(folderPath) already holds a run: continue it with --resume \(folderPath), or choose another --run-dir")
        }
        if resume == nil {
            do { try AtomicFile.write(cfg.yaml, to: folderPath + "/config.yaml") } catch { throw CLI.failure(error) }
        }
        Torch.keepFreedMemory()
        Torch.manualSeed(UInt64(cfg.int("run.seed")))
        let trainer = try makeTrainer(cfg, run: run)
        if resume != nil {
            guard let last = run.checkpointSteps().last else { throw CLI.failure("\(folderPath) has no complete checkpoint to resume from") }
            do { try trainer.restore(from: run.checkpointPath(step: last)) } catch { throw CLI.failure("\(error)") }
            CLI.note("resumed \(folderPath) at step \(last)")
        }
        signal(SIGINT) { _ in
            if trainingStopRequested != 0 { _exit(130) }
            trainingStopRequested = 1
            let message: StaticString = "\nstopping after this step (a checkpoint will be saved); Ctrl-C again to quit at once\n"
            _ = Glibc.write(2, message.utf8Start, message.utf8CodeUnitCount)
        }
        let total = cfg.int("run.steps")
        let clock = ContinuousClock()
        let start = clock.now
        let startStep = trainer.step
        while trainer.step < total {
            let line = try await trainer.trainStep()
            let elapsed = clock.now - start
            let perStep = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) / Double(trainer.step - startStep)
            let eta = Int(perStep * Double(total - trainer.step))
            func value(_ key: String) -> String { line[key]?.doubleValue.map { formatScore($0) } ?? "-" }
            CLI.note(
                "step \(trainer.step)/\(total)  reward \(value("reward/mean"))  rubric \(value("reward/personalization"))  "
                    + "valid \(value("format/valid_fraction"))  kl \(value("policy/kl"))  \(Int(perStep))s/step  ETA \(eta)s")
            let every = max(1, cfg.int("run.checkpoint_every"))
            let stopping = trainingStopRequested != 0
            if trainer.step % every == 0 || trainer.step == total || stopping {
                do { try trainer.saveCheckpoint() } catch { throw CLI.failure("saving a checkpoint: \(error)") }
            }
            if stopping {
                CLI.note("stopped at step \(trainer.step); continue with: iap train --resume \(folderPath)")
                return
            }
        }
        // runs/<name>/final points at the last checkpoint.
        unlink(folderPath + "/final")
        symlink("checkpoints/" + (run.checkpointPath(step: trainer.step).split(separator: "/").last.map(String.init) ?? ""), folderPath + "/final")
        print("run folder: \(folderPath)")
        print("final checkpoint: \(run.checkpointPath(step: trainer.step)) (also \(folderPath)/final)")
    }

    func makeTrainer(_ cfg: TrainConfig, run: RunFolder) throws -> IAPTrainer {
        let runtime = try CLI.runtime(dtype: cfg.string("policy.dtype"), device: cfg.string("policy.device"))
        let files = try CLI.openModel(cfg.string("policy.model"))
        let tokenizer = try CLI.loadTokenizer(files)
        let policy: CausalLM
        let reference: CausalLM
        let template: ChatTemplate
        do {
            policy = try CausalLM.load(files, dtype: runtime.dtype, device: runtime.device)
            reference = try CausalLM.load(files, dtype: runtime.dtype, device: runtime.device)
            template = try files.chatTemplate(file: cfg.optionalString("policy.chat_template"))
        } catch {
            throw CLI.failure("\(error)")
        }
        let judge = try JudgeFactory.make(JudgeFactory.Options(
            backend: cfg.string("judge.backend"), model: cfg.optionalString("judge.model"), urls: cfg.list("judge.urls"),
            apiKeyVariable: cfg.optionalString("judge.api_key_env"), concurrency: cfg.int("judge.concurrency"), timeout: 120,
            maxTokens: cfg.int("judge.max_tokens"), promptFile: cfg.optionalString("judge.prompt_file")))
        let cachePath = ModelStore.defaultCacheRoot + "/judge/verdicts.jsonl"
        do { try FileSystem.makeDirectories(ModelStore.defaultCacheRoot + "/judge") } catch { throw CLI.failure(error) }
        let cache: JudgeCache
        do { cache = try JudgeCache(path: cachePath) } catch { throw CLI.failure(error) }
        let similarityFiles = try CLI.openModel(cfg.string("reward.similarity_model"))
        let encoder: BertEncoder
        do { encoder = try BertEncoder.load(similarityFiles, device: runtime.device) } catch { throw CLI.failure(error) }
        let encoderTokenizer = try CLI.loadTokenizer(similarityFiles)
        let scorer = BERTScorer(encoder: encoder, tokenizer: encoderTokenizer, layer: cfg.optionalInt("reward.similarity_layer"))
        guard let split = LaMPQASplit(rawValue: cfg.string("data.split")) else { throw CLI.failure("data.split: train, validation or test") }
        var options = LaMPQADataset.Options()
        options.split = split
        options.limit = cfg.optionalInt("data.limit")
        options.domains = try cfg.list("data.domains").map { (name) throws(ExitCode) -> LaMPQADomain in
            guard let d = LaMPQADomain(name: name) else { throw CLI.failure("data.domains: unknown domain \(name)") }
            return d
        }
        let dataset: LaMPQADataset
        do { dataset = try LaMPQADataset(folder: cfg.string("data.folder"), options: options) } catch { throw CLI.failure(error) }
        guard let mode = PolicyInputMode(name: cfg.string("data.input")) else {
            throw CLI.failure("data.input: question, narrative, profile:K or narrative+profile:K")
        }
        let input = PolicyInputBuilder(mode: mode, rank: PolicyInputBuilder.encoderRanker(encoder, tokenizer: encoderTokenizer))
        let prompt: RolloutPrompt
        do { prompt = try cfg.optionalString("rollout.prompt_file").map { (p) throws(RolloutPromptError) in try RolloutPrompt.load(p) } ?? .standard } catch {
            throw CLI.failure(error)
        }
        let parts = IAPTrainer.Parts(
            policy: policy, reference: reference, tokenizer: tokenizer, template: template, judge: judge, judgeCache: cache, scorer: scorer,
            records: dataset.records, input: input, prompt: prompt, chatTemplateText: files.chatTemplateText)
        do { return try IAPTrainer(config: cfg, run: run, parts: parts) } catch { throw CLI.failure("\(error)") }
    }
}

import ArgumentParser
import CommandSupport
import IAP
import IAPCore
import ModelFormats
import Torch

/// `iap train`: IAP training with DAPO.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a policy with IAP (intent-aware rollouts, rubric + contrast + length reward, DAPO).")

    @OptionGroup var options: TrainingOptions

    func run() async throws {
        guard let job = try options.startJob(.iap) else { return }
        let trainer: IAPTrainer
        do {
            try job.prepareEngine()
            trainer = try job.makeIAPTrainer(checkFits: memoryCheck(job.config), log: { CLI.note($0) })
        } catch let code as ExitCode { throw code } catch { throw CLI.failure("\(error)") }
        try await TrainingDriver.drive(trainer, job: job, summary: Self.summary)
    }

    /// iap plan's check before any weight is loaded, unless --no-memory-check.
    func memoryCheck(_ cfg: TrainConfig) -> (CausalLMConfig, Device) throws -> Void {
        { shape, device in if !options.noMemoryCheck { try MemoryCheck.refuseIfItCannotFit(cfg, shape: shape, device: device) } }
    }

    /// The figures a step's progress line shows.
    static func summary(_ line: MetricsLine) -> String {
        let v = { (key: String) in TrainingDriver.value(line, key) }
        return "reward \(v("reward/mean"))  parts: rubric \(v("reward/personalization")) contrast \(v("reward/contrast")) "
            + "similarity \(v("reward/similarity")) length \(v("reward/length_penalty"))  valid \(v("format/valid_fraction")) copied \(v("format/copied_prompt_fraction")) "
            + "repeated \(v("format/repeated_lines_fraction"))  "
            + "intents \(v("intent/count"))  kl \(v("policy/kl"))"
    }
}

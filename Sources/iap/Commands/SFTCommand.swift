import ArgumentParser
import CommandSupport
import IAP
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
        guard let job = try options.startJob(.sft) else { return }
        let trainer: SFTTrainer
        do {
            try job.prepareEngine()
            trainer = try job.makeSFTTrainer(log: { CLI.note($0) })
        } catch { throw CLI.failure("\(error)") }
        let isMain = job.parallel.isMain
        trainer.progress = { if isMain { CLI.note($0) } }
        trainer.shouldStop = TrainingDriver.shouldStop
        try await TrainingDriver.drive(trainer, job: job) { line in
            "loss \(TrainingDriver.value(line, "sft/loss"))  label score \(TrainingDriver.value(line, "sft/label_score"))  "
                + "grad norm \(TrainingDriver.value(line, "policy/grad_norm"))"
        }
    }
}

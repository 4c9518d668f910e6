import ArgumentParser
import CommandSupport
import Torch

@main
struct IAPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iap",
        abstract: "Intent-Aware Personalization: train LLMs with RL to infer intent, evaluate on LaMP-QA.",
        version: IAPVersion.string,
        subcommands: [
            DoctorCommand.self, ModelsCommand.self, DataCommand.self, GenerateCommand.self, PlanCommand.self, TrainCommand.self,
            SFTCommand.self, AnswerCommand.self, AskCommand.self, EvaluateCommand.self, CompareCommand.self, MetricsCommand.self,
            AblateCommand.self, ReportCommand.self, ServeCommand.self, EmbedCommand.self, TokenizeCommand.self,
            DetokenizeCommand.self, SelfCheckCommand.self,
        ]
    )

    static func main() async {
        // A rank of `--nproc-per-node` ends with its launcher, whenever that happens.
        RankLauncher.endWithLauncher()
        // libtorch looks its CUDA hooks up once per process: anything that asks before
        // libtorch_cuda.so is loaded (seeding, the build configuration) leaves CUDA invisible
        // for good, so the backend is loaded first (a quick miss on CPU-only machines).
        CUDARuntime.load()
        await main(nil)
    }
}

enum IAPVersion {
    static let string = "0.1.0"
}

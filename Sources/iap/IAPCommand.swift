import ArgumentParser

@main
struct IAPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iap",
        abstract: "Intent-Aware Personalization: train LLMs with RL to infer intent, evaluate on LaMP-QA.",
        version: IAPVersion.string,
        subcommands: [
            DoctorCommand.self, ModelsCommand.self, GenerateCommand.self, TrainCommand.self, SFTCommand.self, AnswerCommand.self, AskCommand.self, EvaluateCommand.self, CompareCommand.self, AblateCommand.self, ReportCommand.self, ServeCommand.self, EmbedCommand.self, TokenizeCommand.self,
            DetokenizeCommand.self, SelfCheckCommand.self,
            BenchCommand.self,
        ]
    )
}

enum IAPVersion {
    static let string = "0.1.0"
}

import FileIO
import Foundation
import JSONFiles
import Testing

/// The whole research loop through the `iap` binary on the bundled sample, tiny settings and
/// the embedding judge: train (IAP, 1 step) and sft → answer with every method → evaluate →
/// compare → ablate intents / buckets → report. Run by `make test` after `swift build`.
@Suite(.serialized, .timeLimit(.minutes(20))) struct EndToEndTests: RunsIAP {
    @Test func answerEvaluateCompareAblateReport() throws {
        guard FileManager.default.isExecutableFile(atPath: repository.appendingPathComponent(".build/debug/iap").path) else {
            Issue.record("build the iap binary first (swift build; make test does)")
            return
        }
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("iap-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: d) }
        let tiny = ["--limit", "1", "--max-tokens", "16"]
        // Training: one IAP step and a small SFT run, each with its run folder and final checkpoint.
        try succeed([
            "train", "--config", "configs/demo-cpu.yaml", "--run-dir", d + "/train", "--set", "run.steps=1", "--set",
            "rollout.questions_per_step=1",
            "--set", "rollout.group_size=2", "--set", "rollout.max_new_tokens=12", "--set", "rollout.reference_max_new_tokens=8",
            "--set", "dapo.dynamic_sampling=false",
        ])
        try succeed([
            "sft", "--config", "configs/sft-demo-cpu.yaml", "--run-dir", d + "/sft", "--set", "data.limit=1", "--set", "sft.samples=2",
            "--set", "sft.max_new_tokens=12", "--set", "sft.epochs=1", "--set", "sft.batch_size=3",
        ])
        // Every method answers the sample's test split (1 question per domain).
        try succeed(["answer", "--method", "iap", "--model", d + "/train/final", "--out", d + "/answers/iap.json"] + tiny)
        #expect(FileManager.default.fileExists(atPath: d + "/answers/iap.intents.json"))
        for method in ["non-personalized", "implicit-intent"] {
            try succeed(["answer", "--method", method, "--out", d + "/answers/\(method).json"] + tiny)
        }
        try succeed(
            [
                "answer", "--method", "explicit-intent", "--intents", d + "/answers/iap.intents.json", "--out",
                d + "/answers/explicit-intent.json",
            ] + tiny)
        try succeed(["answer", "--method", "direct", "--model", d + "/sft/final", "--out", d + "/answers/sft.json"] + tiny)
        let methods = ["non-personalized", "implicit-intent", "explicit-intent", "sft", "iap"]
        let evaluated = try succeed(
            ["evaluate", "--data", "data/sample", "--split", "test", "--limit", "1", "--no-cache", "--out", d + "/eval", "--responses"]
                + methods.map { d + "/answers/\($0).json" })
        #expect(evaluated.output.contains("macro average"))
        // Table 1 over the five methods.
        let compared = try succeed(["compare", "--format", "json", "--out", d + "/table1.json"] + methods.map { d + "/eval/\($0)" })
        _ = compared
        struct Table: Decodable {
            struct Column: Decodable { var title: String }
            var methods: [String]
            var columns: [Column]
        }
        let table = try JSONFile.read(Table.self, from: d + "/table1.json")
        #expect(table.methods == methods && table.columns.count == 4)
        let markdown = try succeed(["compare"] + methods.map { d + "/eval/\($0)" })
        #expect(markdown.output.contains(" vs strongest other |") && markdown.output.contains("**"))
        let shown = try succeed(["compare", "--show", "2"] + methods.map { d + "/eval/\($0)" })
        #expect(shown.output.contains("── Question 2") && shown.output.contains("intents"), "\(shown.output)")
        // The analyses.
        let ablation = try succeed(
            [
                "ablate", "intents", "--model", d + "/train/final", "--intents", d + "/answers/iap.intents.json", "--no-cache", "--out",
                d + "/ablation",
            ] + tiny)
        #expect(ablation.output.contains("Selected intent") && ablation.output.contains("(reference)"))
        for condition in ["no-intent", "in-group-random", "cross-group-random", "selected"] {
            #expect(FileManager.default.fileExists(atPath: d + "/ablation/\(condition).responses.json"))
        }
        let buckets = try succeed([
            "ablate", "buckets", "--intents", d + "/answers/iap.intents.json", "--results", d + "/eval/iap", "--out", d + "/fig4",
        ])
        #expect(buckets.output.contains("| all |") && FileManager.default.fileExists(atPath: d + "/fig4.json"))
        // The report over all of it.
        try succeed(["report", "--out", d + "/report.html", d + "/train", d + "/sft", d + "/ablation"] + methods.map { d + "/eval/\($0)" })
        let html = String(decoding: try AtomicFile.read(d + "/report.html"), as: UTF8.self)
        for id in [
            "chart-reward-0", "chart-fig3-intent-0", "table-rollouts-0", "chart-sft-loss-1", "table-intent-ablation-2", "table-results",
            "chart-results", "table-buckets-7", "chart-fig4-7",
        ] {
            #expect(html.contains("id=\"\(id)\""), "report lacks \(id)")
        }
        let printed = try succeed([
            "train", "--config", "configs/ablations/demo-no-contrast.yaml", "--set", "rollout.group_size=3", "--print-config",
        ])
        #expect(
            printed.output.contains("  lambda_contrast: 0.0\n") && printed.output.contains("  group_size: 3\n")
                && printed.output.contains("  steps: 5\n"))
        // Errors name what is wrong and exit 1.
        let missing = try iap(["compare", d + "/no-such-folder"])
        #expect(missing.status == 1 && missing.errors.contains("no-such-folder"))
        let notReport = try iap(["report", "--out", d + "/x.html", d + "/answers"])
        #expect(notReport.status == 1 && notReport.errors.contains("answers"))
        let badMethod = try iap(["answer", "--method", "magic", "--out", d + "/x.json"])
        #expect(badMethod.status == 1 && badMethod.errors.contains("magic"))
        let badConfig = try iap(["sft", "--run-dir", d + "/bad", "--set", "sft.samplez=3"])
        #expect(badConfig.status == 1 && badConfig.errors.contains("sft.samplez"))
    }
}

import Foundation
import Testing

/// The paper's second model family through the whole trainer (issue 15): `iap train` with
/// `policy.model: gemma3-270m`, a base model prompted through the plain template, for two
/// IAP steps (short rollouts, the question alone as input); the final checkpoint is a
/// Gemma 3 Hugging Face folder that `iap generate` loads.
@Suite(.serialized, .timeLimit(.minutes(10))) struct GemmaTrainingTests: RunsIAP {
    @Test func twoIAPStepsWithGemma3() throws {
        let run = scratch("gemma-train")
        defer { try? FileManager.default.removeItem(atPath: run) }
        try succeed([
            "train", "--config", "configs/demo-cpu.yaml", "--run-dir", run, "--set", "policy.model=gemma3-270m", "--set", "run.steps=2",
            "--set", "rollout.questions_per_step=1", "--set", "rollout.group_size=2", "--set", "rollout.block_budgets=[4, 6, 4, 8]",
            "--set", "rollout.max_new_tokens=40", "--set", "rollout.reference_max_new_tokens=8", "--set", "dapo.dynamic_sampling=false",
            "--set", "data.input=question",
        ])
        let metrics = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 2)
        let config = try String(contentsOfFile: run + "/final/config.json", encoding: .utf8)
        #expect(config.contains("\"gemma3_text\"") && config.contains("\"sliding_window\" : 512"))
        let reply = try succeed(["generate", "--model", run + "/final", "--chat", "Hi", "--max-tokens", "4", "--greedy"])
        #expect(!reply.output.isEmpty)
    }
}

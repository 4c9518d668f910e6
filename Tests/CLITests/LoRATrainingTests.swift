import Foundation
import Testing

/// LoRA through the command line (issue 16): `iap train` with `lora.r` writes PEFT adapter
/// checkpoints; the run's `final` is usable as a model by itself (its adapter_config.json
/// names the base); `iap models merge` folds it into a plain folder that generates the same
/// greedy text; an adapter of another base model is refused with the reason.
@Suite(.serialized, .timeLimit(.minutes(10))) struct LoRATrainingTests: RunsIAP {
    @Test func trainAdaptersThenGenerateFromTheCheckpointAndTheMergedFolder() throws {
        let run = scratch("lora-train")
        let merged = scratch("lora-merged")
        defer {
            try? FileManager.default.removeItem(atPath: run)
            try? FileManager.default.removeItem(atPath: merged)
        }
        try succeed([
            "train", "--config", "configs/demo-cpu.yaml", "--run-dir", run, "--set", "run.steps=1", "--set", "lora.r=8",
            "--set", "optim.lr=1e-2", "--set", "rollout.questions_per_step=1", "--set", "rollout.group_size=2",
            "--set", "rollout.block_budgets=[4, 6, 4, 8]", "--set", "rollout.max_new_tokens=32", "--set",
            "rollout.reference_max_new_tokens=8",
            "--set", "dapo.dynamic_sampling=false", "--set", "data.input=question",
        ])
        let final = run + "/final"
        #expect(FileManager.default.fileExists(atPath: final + "/adapter_model.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: final + "/model.safetensors"))
        let prompt = ["--chat", "Name a colour.", "--max-tokens", "12", "--greedy"]
        let adapted = try succeed(["generate", "--model", final] + prompt)
        let explicit = try succeed(["generate", "--model", "smollm2-135m-instruct", "--adapter", final] + prompt)
        #expect(adapted.output == explicit.output && !adapted.output.isEmpty)
        try succeed(["models", "merge", "smollm2-135m-instruct", "--adapter", final, "--to", merged])
        let fromMerged = try succeed(["generate", "--model", merged] + prompt)
        #expect(fromMerged.output == adapted.output)

        let foreign = try iap(["generate", "--model", "smollm2-135m-instruct", "--adapter", "Tests/Fixtures/lora/peft-adapter"] + prompt)
        #expect(foreign.status == 1 && foreign.errors.contains("another base model"), "\(foreign.errors)")
    }
}

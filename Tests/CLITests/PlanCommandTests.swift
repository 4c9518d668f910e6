import CommandSupport
import Foundation
import Testing

/// `iap plan` as a user runs it, and `iap train` refusing a config that cannot fit before it
/// loads a weight.
@Suite struct PlanCommandTests: RunsIAP {
    @Test func thePapersShapeOnEightGPUs() throws {
        guard binaryIsBuilt else { return }
        let r = try iap([
            "plan", "--config", "configs/paper/qwen2.5-7b-instruct.yaml", "--set", "policy.model=shape:qwen2.5-7b", "--gpus", "8", "--json",
        ])
        #expect(r.status == 0, "\(r.errors)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
        let plan = try #require(report["plan"] as? [String: Any])
        #expect(plan["fits"] as? Bool == true && plan["parameters"] as? Int == 7_615_616_512 && plan["ranks"] as? Int == 8)
        let terms = try #require(plan["terms"] as? [[String: Any]])
        #expect(terms.contains { $0["name"] as? String == "KV cache" && $0["bytes"] as? Int == 11_274_289_152 })
        #expect((report["strategies"] as? [[String: Any]])?.count == 5)
        // One GPU of 24 GiB: does not fit, said in the text and the exit status.
        let small = try iap([
            "plan", "--config", "configs/paper/qwen2.5-7b-instruct.yaml", "--set", "policy.model=shape:qwen2.5-7b", "--gpu-memory", "24",
        ])
        #expect(small.status == 2 && small.output.contains("does NOT fit") && small.output.contains("ddp + LoRA"), "\(small.output)")
    }

    @Test func trainRefusesWhatCannotFitBeforeLoading() throws {
        guard binaryIsBuilt else { return }
        let run = scratch("too-big")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let started = Date()
        let r = try iap(["train", "--config", "configs/demo-cpu.yaml", "--run-dir", run, "--set", "rollout.max_new_tokens=100000"])
        #expect(r.status == 1)
        #expect(
            r.errors.contains("this config needs about") && r.errors.contains("KV cache") && r.errors.contains("--no-memory-check"),
            "\(r.errors)")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(!FileManager.default.fileExists(atPath: run + "/checkpoints/step-000001"))
    }

    @Test func anUnknownShapeIsNamed() throws {
        guard binaryIsBuilt else { return }
        let r = try iap(["plan", "--config", "configs/demo-cpu.yaml", "--set", "policy.model=shape:gpt-9"])
        #expect(r.status == 1 && r.errors.contains("gpt-9"), "\(r.errors)")
    }

    /// nvidia-smi's CSV (no units: MiB) as `iap train`'s check and `iap doctor` read it.
    @Test func nvidiaSMIsListParses() {
        let gpus = MachineMemory.parse("0, NVIDIA H100 80GB HBM3, 81559, 570.86\n1, NVIDIA H200, 143771, 570.86\nbroken line\n")
        #expect(
            gpus == [
                MachineMemory.GPU(index: 0, name: "NVIDIA H100 80GB HBM3", memoryBytes: 81559 << 20, driver: "570.86"),
                MachineMemory.GPU(index: 1, name: "NVIDIA H200", memoryBytes: 143_771 << 20, driver: "570.86"),
            ])
        #expect((MachineMemory.hostBytes() ?? 0) > 1 << 30)
    }
}

import Foundation
import IAPCore
import ModelFormats
import Testing

/// `iap plan`'s arithmetic on the paper's Qwen2.5-7B-Instruct config (configs/paper): each
/// term against the formula worked by hand, and the verdicts that follow from them.
struct MemoryPlannerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func paperPlanner(_ overrides: [String] = [], ranks: Int = 8) throws -> MemoryPlanner {
        let cfg = try ConfigLoader.load(
            file: repository.appendingPathComponent("configs/paper/qwen2.5-7b-instruct.yaml").path, overrides: overrides)
        var planner = MemoryPlanner(
            shape: try #require(try ModelShapes.config(named: "qwen2.5-7b")), modelName: "qwen2.5-7b", config: cfg, memoryBytes: 80 << 30,
            onGPU: true)
        planner.ranks = ranks
        return planner
    }

    static func bytes(_ plan: MemoryPlan, _ name: String) -> Int? { plan.terms.first { $0.name == name }?.bytes }

    @Test func thePapersFSDPRunTermByTerm() throws {
        let plan = try Self.paperPlanner().plan()
        let p = 7_615_616_512
        #expect(plan.strategy == .fsdp && plan.parameters == p && plan.trainedParameters == p)
        #expect(Self.bytes(plan, "policy weights") == 0)
        #expect(Self.bytes(plan, "master weights") == p * 4 / 8)
        #expect(Self.bytes(plan, "optimizer moments") == 2 * p * 4 / 8)
        #expect(Self.bytes(plan, "reference") == p * 4 / 8)
        #expect(Self.bytes(plan, "whole weights") == p * 2)
        // 64 rows (max_batch_rows) × (1,024 prompt + 2,048 new) × 28 layers × 2 × 4 KV heads × 128 × 2 bytes.
        #expect(Self.bytes(plan, "KV cache") == 64 * 3072 * 28 * 2 * 4 * 128 * 2)
        #expect(plan.peakBytes == plan.rolloutPeakBytes && plan.fits)
        let total = plan.terms.filter { $0.phase != .update }.reduce(0) { $0 + $1.bytes }
        #expect(plan.peakBytes == total && plan.freeBytes == (80 << 30) - total)
    }

    @Test func strategiesAndLoRA() throws {
        let report = try Self.paperPlanner().report()
        func verdict(_ s: DistStrategy, lora: Bool) -> PlanReport.Verdict? {
            report.strategies.first { $0.strategy == s && $0.lora == lora }
        }
        // Replicated bf16 weights, float32 masters and moments, gradients and a reference: 18 bytes a parameter.
        #expect(verdict(.ddp, lora: false)?.fits == false && verdict(.zero2, lora: false)?.fits == true)
        #expect(verdict(.fsdp, lora: true) == nil && report.strategies.count == 5)
        let lora = try Self.paperPlanner(["lora.r=16", "dist.strategy=ddp"]).plan()
        // peft's count for r 16 on every linear layer of Qwen2.5-7B.
        #expect(lora.trainedParameters == 40_370_176 && Self.bytes(lora, "reference") == 0)
        #expect(Self.bytes(lora, "optimizer moments") == 2 * 40_370_176 * 4)
    }

    @Test func theKnobsMoveTheirTerms() throws {
        let base = try Self.paperPlanner(["dist.strategy=zero2"]).plan()
        let noCheckpoints = try Self.paperPlanner(["dist.strategy=zero2", "policy.gradient_checkpointing=false"]).plan()
        #expect(try #require(Self.bytes(noCheckpoints, "activations")) > 5 * (try #require(Self.bytes(base, "activations"))))
        let fewerRows = try Self.paperPlanner(["dist.strategy=zero2", "rollout.max_batch_rows=16"]).plan()
        #expect(Self.bytes(fewerRows, "KV cache")! * 4 == Self.bytes(base, "KV cache")!)
        let twice = try Self.paperPlanner(["dist.strategy=zero2"], ranks: 16).plan()
        #expect(Self.bytes(twice, "optimizer moments")! * 2 == Self.bytes(base, "optimizer moments")!)
        var small = try Self.paperPlanner(["dist.strategy=ddp"])
        small.memoryBytes = 24 << 30
        let over = small.plan()
        #expect(!over.fits && over.freeBytes < 0 && over.biggestTerms(1).first?.name == "optimizer moments")
    }
}

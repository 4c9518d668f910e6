import ArgumentParser
import CommandSupport
import Foundation
import IAPCore
import ModelFormats
import Torch

/// `iap train` refuses, before any weight is loaded, a config that `iap plan` says cannot fit
/// in the device's memory even if the plan overestimates by its 15 % tolerance — rather than
/// running out of memory minutes (or hours) into the first step.
enum MemoryCheck {
    static let tolerance = 0.85

    static func refuseIfItCannotFit(_ cfg: TrainConfig, shape: CausalLMConfig, device: Device) throws(ExitCode) {
        let environment = ProcessInfo.processInfo.environment
        let memory: Int?
        switch device {
        case .cuda(let index): memory = MachineMemory.gpus().first { $0.index == index }?.memoryBytes
        case .cpu:
            // Ranks on one machine share its memory.
            let local = environment["LOCAL_WORLD_SIZE"].flatMap { Int($0) } ?? 1
            memory = MachineMemory.hostBytes().map { $0 / max(1, local) }
        }
        guard let memory else { return }
        var planner = MemoryPlanner(shape: shape, modelName: cfg.policy.model, config: cfg, memoryBytes: memory, onGPU: device != .cpu)
        planner.ranks = environment["WORLD_SIZE"].flatMap { Int($0) } ?? 1
        let plan = planner.plan()
        guard Double(plan.peakBytes) * tolerance > Double(memory) else { return }
        let biggest = plan.biggestTerms().map { "\($0.name) \(PlanText.gib($0.bytes))" }.joined(separator: ", ")
        throw CLI.failure(
            "this config needs about \(PlanText.gib(plan.peakBytes)) on \(device) (\(biggest), …), more than its \(PlanText.gib(memory)); "
                + "'iap plan' with the same --config and --set shows every term and which strategies fit (fewer rollout rows, a smaller "
                + "optim.micro_batch, LoRA or more ranks); --no-memory-check starts anyway")
    }
}

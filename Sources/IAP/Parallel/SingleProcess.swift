import IAPCore
import Torch
import Transformers

/// One process: the optimizer over the whole weights, gradients clipped as they are.
public final class SingleProcess: ParallelStrategy {
    public let ranks = DataParallel.single
    let adamW: AdamW
    public let trainingPass: TrainingPass

    public init(optimizer: AdamW, pass: TrainingPass) {
        adamW = optimizer
        trainingPass = pass
    }

    public var optimizer: any Optimizer { adamW }

    public func reduceAndClip(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
        try clipGradientNorm(parameters, maxNorm: maxNorm)
    }

    public func checkpointFiles(run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles? { .whole(adamW) }

    public func restoreOptimizer(from folder: String) throws { try OptimizerCheckpoint.restoreWhole(adamW, from: folder) }
}

import IAPCore
import Torch

/// The clipped policy-gradient objective with an optional k3 KL penalty, per token:
///
///     ratio  = exp(clamp(logp − logp_old, ±20))
///     pg     = max(−A·ratio, −A·clip(ratio, 1 − ε_low, 1 + ε_high))
///     pg     = min(pg, −A·c)  where A < 0, when a dual-clip constant c is set
///     kl     = clamp(exp(d) − d − 1, ±10),  d = clamp(ref − logp, ±20)
///     loss_t = pg + β·kl
///
/// then aggregated over the completion mask. All tensors are [sequences, time] f32
/// (advantages [sequences]).
public struct PolicyLoss: Sendable {
    public var clipLow = 0.2
    public var clipHigh = 0.28
    public var dualClip: Double?
    public var klCoefficient = 0.001
    public var aggregation = LossAggregation.tokenMean

    public init() {}

    public struct Result {
        /// The scalar to back-propagate (already divided for gradient accumulation).
        public let loss: Tensor
        /// Statistics over active tokens (no gradient): mean k3 KL, fraction clipped below
        /// (ratio < 1 − ε_low with A < 0) and above (ratio > 1 + ε_high with A > 0).
        public let meanKL: Double
        public let clippedLow: Double
        public let clippedHigh: Double
        public let activeTokens: Double
    }

    /// - `globalTokens` / `globalSequences`: totals over the whole optimizer step, so that
    ///   micro-batches accumulated into one step aggregate exactly as one big batch would.
    /// - `maxLength`: the completion budget (for Dr. GRPO).
    public func callAsFunction(
        logProbs: Tensor, oldLogProbs: Tensor, referenceLogProbs: Tensor?, advantages: Tensor, mask: Tensor,
        globalTokens: Double, globalSequences: Double, maxLength: Int
    ) throws(TorchError) -> Result {
        let a = try advantages.unsqueeze(1)  // [B, 1]
        let ratio = try (logProbs - oldLogProbs).clamp(min: -20, max: 20).exp()
        let unclipped = try ratio * a.neg()
        let clipped = try ratio.clamp(min: 1 - clipLow, max: 1 + clipHigh) * a.neg()
        var perToken = try unclipped.maximum(clipped)
        if let c = dualClip {
            let bound = try a.neg() * c
            perToken = try Tensor.where(a.lt(.float(0)).expand(perToken.shape), perToken.minimum(bound.expand(perToken.shape)), perToken)
        }
        var kl: Tensor?
        if let ref = referenceLogProbs, klCoefficient != 0 {
            let d = try (ref - logProbs).clamp(min: -20, max: 20)
            let k3 = try (d.exp() - d - 1.0).clamp(min: -10, max: 10)
            kl = k3
            perToken = try perToken + k3 * klCoefficient
        }
        let masked = try perToken * mask
        let loss: Tensor
        switch aggregation {
        case .tokenMean:
            loss = try masked.sum() / max(globalTokens, 1)
        case .sequenceMeanTokenMean:
            loss = try (masked.sum(dims: [1]) / mask.sum(dims: [1]).clamp(min: 1)).sum() / max(globalSequences, 1)
        case .sequenceMeanTokenSum:
            loss = try masked.sum() / max(globalSequences, 1)
        case .drGRPO:
            loss = try masked.sum() / max(globalSequences * Double(maxLength), 1)
        }
        return try withNoGrad { () throws(TorchError) -> Result in
            let active = try mask.sum().item()
            func fraction(_ flags: Tensor) throws(TorchError) -> Double {
                active > 0 ? try (flags.to(.float32) * mask).sum().item() / active : 0
            }
            let low = try fraction(try ratio.lt(.float(1 - clipLow)).logicalAnd(a.lt(.float(0)).expand(ratio.shape)))
            let high = try fraction(try ratio.gt(.float(1 + clipHigh)).logicalAnd(a.gt(.float(0)).expand(ratio.shape)))
            let meanKL = try kl.map { (k) throws(TorchError) -> Double in active > 0 ? try (k * mask).sum().item() / active : 0 } ?? 0
            return Result(loss: loss, meanKL: meanKL, clippedLow: low, clippedHigh: high, activeTokens: active)
        }
    }
}

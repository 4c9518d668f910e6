/// Scales the gradients of `parameters` so that their global L2 norm is at most `maxNorm`,
/// as torch.nn.utils.clip_grad_norm_ does: coefficient min(1, maxNorm / (norm + 1e-6)).
///
/// Returns the norm before clipping. A non-finite norm is returned unchanged and the
/// gradients are left alone, so the caller can skip the update.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double) throws(TorchError) -> Double {
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    return try withNoGrad { () throws(TorchError) -> Double in
        let norms = try grads.map { (g) throws(TorchError) -> Tensor in try g.to(.float32).norm() }
        let total = try Tensor.stack(norms).norm().item()
        guard total.isFinite else { return total }
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 {
            for g in grads { try g.mul_(coefficient) }
        }
        return total
    }
}

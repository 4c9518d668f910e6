import Torch

/// How the trainer runs a forward pass with autograd through a model: training concerns
/// that wrap the pass from the trainer's side rather than settings of the model (a model is
/// a value that generation, the reference and the trainer share).
///
/// Passes without autograd (inference, the reference's log-probs) ignore it.
public struct TrainingPass: Sendable {
    /// Recompute each decoder block during the backward pass instead of keeping its
    /// activations (passes with autograd and no KV cache).
    public var gradientCheckpointing: Bool
    /// Bytes of the LM head's f32 logits the pass keeps for its backward pass, which
    /// recomputes the rest (one more matmul of the head for them). 2 GiB by default.
    public var keptLogitsBytes: Int
    /// Told before and after each block runs (`BlockResidency`): a gradient sum that starts
    /// as each block's backward pass ends (`OverlappedGradientSum`). Nil: none.
    public var blockHooks: (any BlockResidency)?

    public init(gradientCheckpointing: Bool = false, keptLogitsBytes: Int = 2 << 30, blockHooks: (any BlockResidency)? = nil) {
        self.gradientCheckpointing = gradientCheckpointing
        self.keptLogitsBytes = keptLogitsBytes
        self.blockHooks = blockHooks
    }
}

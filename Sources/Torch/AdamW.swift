/// AdamW (Loshchilov & Hutter), with PyTorch's update rule and defaults:
///
///     p ← p − lr·λ·p
///     m ← β1·m + (1 − β1)·g
///     v ← β2·v + (1 − β2)·g²
///     p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// Parameters without a gradient are skipped. The learning rate may change between steps
/// (schedules set `learningRate`).
///
/// Parameters stored in bfloat16/float16 get float32 master copies when `masterWeights` is on
/// (the default, as mixed-precision training in PyTorch/FSDP does): moments and the update
/// are float32 and the parameter receives the rounded result. Without them, an update smaller
/// than half the spacing of bfloat16 around a weight (2⁻⁸ relative) is lost entirely — at
/// lr 1e-5 most of them.
public final class AdamW: @unchecked Sendable {
    public struct Parameter: Sendable {
        public let name: String
        public let tensor: Tensor
        public init(name: String, tensor: Tensor) {
            self.name = name
            self.tensor = tensor
        }
    }

    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    public let parameters: [Parameter]
    /// Float32 master copies of reduced-precision parameters (see above).
    public let masterWeights: Bool
    /// Completed steps (t in the update rule).
    public internal(set) var stepCount = 0
    private var firstMoments: [Tensor?]
    private var secondMoments: [Tensor?]
    private var masters: [Tensor?]

    public init(
        parameters: [Parameter], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        eps: Double = 1e-8, weightDecay: Double = 0.01, masterWeights: Bool = true
    ) {
        self.parameters = parameters
        self.masterWeights = masterWeights
        self.masters = Array(repeating: nil, count: parameters.count)
        self.learningRate = learningRate
        self.beta1 = betas.0
        self.beta2 = betas.1
        self.eps = eps
        self.weightDecay = weightDecay
        self.firstMoments = Array(repeating: nil, count: parameters.count)
        self.secondMoments = Array(repeating: nil, count: parameters.count)
    }

    /// Convenience for unnamed parameters (named "0", "1", …).
    public convenience init(
        _ tensors: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        eps: Double = 1e-8, weightDecay: Double = 0.01
    ) {
        self.init(
            parameters: tensors.enumerated().map { Parameter(name: String($0.offset), tensor: $0.element) },
            learningRate: learningRate, betas: betas, eps: eps, weightDecay: weightDecay)
    }

    /// Applies one update from the gradients now accumulated in the parameters.
    public func step() throws(TorchError) {
        stepCount += 1
        try withNoGrad { () throws(TorchError) in
            for (i, parameter) in parameters.enumerated() {
                guard var g = parameter.tensor.grad else { continue }
                let parameterTensor = parameter.tensor
                // What the update is applied to: the parameter, or its float32 master copy.
                var p = parameterTensor
                let mixed = masterWeights && (parameterTensor.dtype == .bfloat16 || parameterTensor.dtype == .float16)
                if mixed {
                    if let existing = masters[i] { p = existing } else { p = try parameterTensor.detach().to(.float32).clone() }
                    masters[i] = p
                    g = try g.to(.float32)
                }
                let m: Tensor
                let v: Tensor
                if let existing = firstMoments[i] { m = existing } else { m = try p.detach().zerosLike() }
                if let existing = secondMoments[i] { v = existing } else { v = try p.detach().zerosLike() }
                firstMoments[i] = m
                secondMoments[i] = v
                try update(p, gradient: g, firstMoment: m, secondMoment: v)
                if mixed { try parameterTensor.copy_(p) }
            }
        }
    }

    /// The update rule above for one tensor (any shape, or a flat shard of several), at
    /// step `stepCount`; `p`, `m` and `v` change in place. The sharded optimizer applies the
    /// same rule to its shards, so both agree element for element.
    func update(_ p: Tensor, gradient g: Tensor, firstMoment m: Tensor, secondMoment v: Tensor) throws(TorchError) {
        let t = Double(stepCount)
        let stepSize = learningRate / (1 - pow(beta1, t))
        let biasCorrection2Root = (1 - pow(beta2, t)).squareRoot()
        if weightDecay != 0 { try p.mul_(1 - learningRate * weightDecay) }
        try m.lerp_(g, weight: 1 - beta1)
        try v.mul_(beta2)
        try v.addcmul_(g, g, value: 1 - beta2)
        let denominator = try v.sqrt() / biasCorrection2Root + eps
        try p.addcdiv_(m, denominator, value: -stepSize)
    }

    /// Bytes of optimizer state kept between steps (moments and master copies).
    public var stateBytes: Int {
        (firstMoments + secondMoments + masters).reduce(0) { $0 + ($1.map { $0.count * $0.dtype.byteSize } ?? 0) }
    }

    /// Drops every parameter's gradient.
    public func zeroGrad() throws(TorchError) {
        for parameter in parameters { try parameter.tensor.zeroGrad() }
    }

    /// The moment estimates by name ("exp_avg.NAME", "exp_avg_sq.NAME", as PyTorch calls
    /// them) and the step count, for checkpoints.
    public func stateTensors() -> (tensors: [String: Tensor], step: Int) {
        var tensors: [String: Tensor] = [:]
        for (i, parameter) in parameters.enumerated() {
            if let m = firstMoments[i] { tensors["exp_avg." + parameter.name] = m }
            if let v = secondMoments[i] { tensors["exp_avg_sq." + parameter.name] = v }
            if let master = masters[i] { tensors["master." + parameter.name] = master }
        }
        return (tensors, stepCount)
    }

    /// Restores what `stateTensors` returned; shapes must match the parameters.
    public func loadState(tensors: [String: Tensor], step: Int) throws(TorchError) {
        var loaded: [[Tensor?]] = Array(repeating: [Tensor?](repeating: nil, count: parameters.count), count: 3)
        for (i, parameter) in parameters.enumerated() {
            let mixed = masterWeights && (parameter.tensor.dtype == .bfloat16 || parameter.tensor.dtype == .float16)
            for (k, prefix) in ["exp_avg.", "exp_avg_sq.", "master."].enumerated() {
                guard let saved = tensors[prefix + parameter.name] else { continue }
                guard saved.shape == parameter.tensor.shape else {
                    throw TorchError(
                        operation: "AdamW.loadState",
                        message: "\(prefix)\(parameter.name) has shape \(saved.shape), the parameter \(parameter.tensor.shape)")
                }
                if k == 2 && !mixed { continue }  // a master copy is only kept for reduced-precision parameters
                // A private copy: the optimizer updates its state in place. Moments and masters
                // of reduced-precision parameters stay float32.
                loaded[k][i] = try saved.to(parameter.tensor.device).to(mixed ? .float32 : parameter.tensor.dtype).clone()
            }
        }
        firstMoments = loaded[0]
        secondMoments = loaded[1]
        masters = loaded[2]
        self.stepCount = step
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    // Integer exponents only (the step count); avoids importing Foundation into Torch.
    var result = 1.0
    var n = Int(exponent)
    var b = base
    while n > 0 {
        if n & 1 == 1 { result *= b }
        b *= b
        n >>= 1
    }
    return result
}

import ModelFormats
import Torch

/// Rotary position embedding in the rotate-half form (Hugging Face's layout):
/// `x·cos + rotate_half(x)·sin`, with `rotate_half([a, b]) = [−b, a]` over the two halves of
/// the head dimension. Frequencies follow the model's theta and scaling (Llama 3, linear,
/// or llama.cpp's stored frequency divisors), computed in f32 like transformers does.
struct RotaryEmbedding {
    /// [head_dim / 2], f32.
    let inverseFrequencies: Tensor
    let device: Device

    init(config: CausalLMConfig, frequencyFactors: Tensor?, device: Device) throws(TorchError) {
        try self.init(
            headDim: config.headDim, theta: config.ropeTheta, scaling: config.ropeScaling, frequencyFactors: frequencyFactors,
            device: device)
    }

    init(headDim: Int, theta: Double, scaling: CausalLMConfig.RopeScaling?, frequencyFactors: Tensor?, device: Device) throws(TorchError) {
        let half = headDim / 2
        // inv_freq = 1 / theta^(2i / d), in f32 as transformers computes it.
        let exponents = try Tensor.arange(0, .int(headDim), step: 2, dtype: .int64).to(.float32) / Double(headDim)
        var inverse = try 1.0 / (try Tensor.full([half], .float(theta), dtype: .float32).pow(exponents))
        switch scaling {
        case nil: break
        case .linear(let factor): inverse = try inverse / factor
        case .frequencyFactorsTensor:
            if let factors = frequencyFactors { inverse = try inverse / factors.to(.float32).reshape([half]) }
        case .llama3(let factor, let low, let high, let original):
            let values = try inverse.toArray(Float.self)
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            var scaled = [Float]()
            for f in values {
                let freq = Double(f)
                let wavelength = 2 * Double.pi / freq
                var result = wavelength > lowWavelength ? freq / factor : freq
                if !(wavelength < highWavelength) && !(wavelength > lowWavelength) {
                    let smooth = (Double(original) / wavelength - low) / (high - low)
                    result = (1 - smooth) * result / factor + smooth * result
                }
                scaled.append(Float(result))
            }
            inverse = try Tensor(scaled)
        }
        self.inverseFrequencies = try inverse.to(device)
        self.device = device
    }

    /// cos and sin tables for positions [batch, time] (int64): each [batch, 1, time, head_dim]
    /// in `dtype`, ready to broadcast over heads.
    func tables(positions: Tensor, dtype: DType) throws(TorchError) -> (cos: Tensor, sin: Tensor) {
        let angles = try positions.to(.float32).unsqueeze(-1) * inverseFrequencies  // [B, T, D/2]
        let full = try Tensor.cat([angles, angles], dim: -1).unsqueeze(1)  // [B, 1, T, D]
        return (try full.cos().to(dtype), try full.sin().to(dtype))
    }

    /// Applies the rotation to x [batch, heads, time, head_dim].
    static func apply(_ x: Tensor, cos: Tensor, sin: Tensor) throws(TorchError) -> Tensor {
        let half = x.shape[3] / 2
        let first = try x.narrow(dim: 3, start: 0, length: half)
        let second = try x.narrow(dim: 3, start: half, length: half)
        let rotated = try Tensor.cat([try second.neg(), first], dim: 3)
        return try x * cos + rotated * sin
    }
}

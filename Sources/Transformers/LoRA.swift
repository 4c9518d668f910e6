import ModelFormats
import Torch

/// A low-rank update of one linear layer (LoRA, Hu et al. 2021), as peft computes it:
///
///     y = x·Wᵀ + b + scale · dropout(x)·Aᵀ·Bᵀ,   A [r, in], B [out, r]
///
/// The base weight W stays frozen; A and B are trained. They may be held in float32 over a
/// bfloat16 base (peft's default): the input is cast to their dtype and the update back.
struct LoRAAdapter {
    let a: Tensor
    let b: Tensor
    let scale: Double
    let dropout: Double

    /// The update for x [..., in] → [..., out] in x's dtype. Dropout only while autograd
    /// records (training), as peft's dropout acts in `model.train()` only.
    func update(_ x: Tensor) throws(TorchError) -> Tensor {
        var input = x.dtype == a.dtype ? x : try x.to(a.dtype)
        if dropout > 0 && isGradEnabled { input = try input.dropout(dropout, training: true) }
        let delta = try input.linear(a).linear(b) * scale
        return delta.dtype == x.dtype ? delta : try delta.to(x.dtype)
    }
}

/// The linear layers of a decoder block adapters can go on: peft's module name (the last
/// part of the Hugging Face name, which `target_modules` matches) and the block's field.
enum AdaptableLinear: String, CaseIterable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj", gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The module's name inside block `i`: `model.layers.i.self_attn.q_proj`.
    func moduleName(layer i: Int) -> String {
        let group = [.q, .k, .v, .o].contains(self) ? "self_attn" : "mlp"
        return "model.layers.\(i).\(group).\(rawValue)"
    }

    var field: WritableKeyPath<DecoderLayer, Linear> {
        switch self {
        case .q: \.q
        case .k: \.k
        case .v: \.v
        case .o: \.o
        case .gate: \.gate
        case .up: \.up
        case .down: \.down
        }
    }

    /// The layers `targets` selects (peft's rule: a target equals the module's full name or
    /// ends it after a dot); an error names a target that selects nothing.
    static func selected(by targets: LoRAAdapterConfig.TargetModules, layers: Int) throws(LoRAError) -> [(
        layer: Int, linear: AdaptableLinear
    )] {
        let all = (0..<layers).flatMap { i in allCases.map { (layer: i, linear: $0) } }
        guard case .names(let names) = targets else { return all }
        for target in names where !all.contains(where: { $0.linear.matches(target, layer: $0.layer) }) {
            throw LoRAError(
                "target module \(target) matches no linear layer of the model; they are \(allCases.map(\.rawValue).joined(separator: ", ")) (or all-linear)"
            )
        }
        return all.filter { entry in names.contains { entry.linear.matches($0, layer: entry.layer) } }
    }

    private func matches(_ target: String, layer: Int) -> Bool {
        let full = moduleName(layer: layer)
        return full == target || full.hasSuffix("." + target)
    }
}

/// A LoRA adapter that cannot be used with a model, or a bad LoRA setting.
public struct LoRAError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

import ModelFormats
import SafeTensors
import Torch

/// Named weight tensors in Hugging Face naming (`model.layers.3.self_attn.q_proj.weight`),
/// loaded from a safetensors checkpoint or a GGUF file, converted to one dtype and device.
///
/// GGUF tensors are dequantized, renamed to Hugging Face names, and llama.cpp's reordering
/// of the Q/K projection rows (done for its interleaved RoPE) is undone, so both sources
/// feed the same model code with the rotate-half RoPE.
public struct WeightLoader {
    public let files: ModelFiles
    public let dtype: DType
    public let device: Device

    public init(files: ModelFiles, dtype: DType = .float32, device: Device = .cpu) {
        self.files = files
        self.dtype = dtype
        self.device = device
    }

    /// All tensors of the file, by Hugging Face name.
    public func loadAll() throws(ModelLoadError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        switch files.weights {
        case .safetensors(let checkpoint):
            defer { withExtendedLifetime(checkpoint) {} }  // its mappings back the bytes read below
            for stored in checkpoint.names {
                guard let entry = checkpoint.entry(stored), let bytes = checkpoint.bytes(of: stored) else { continue }
                guard let name = WeightLoader.textDecoderName(stored) else { continue }
                guard let sourceType = DType(safetensorsName: entry.dtype) else {
                    throw ModelLoadError(source: files.path, reason: "tensor \(name) has dtype \(entry.dtype), which cannot be loaded")
                }
                do {
                    let raw = try Tensor(bytes: bytes, dtype: sourceType, shape: entry.shape)
                    out[name] = try convert(raw)
                } catch {
                    throw ModelLoadError.torch("\(files.path): \(name)", error)
                }
            }
        case .gguf(let file):
            let permuteQK: Bool
            let heads: Int
            let kvHeads: Int
            // llama.cpp stores offset norms' weights (Gemma) with the 1 of x·(1 + w) added.
            var normOffset = false
            var sandwichNorms = false
            if case .causalLM(let config) = files.config {
                (normOffset, sandwichNorms) = (config.features.normOffset, config.features.sandwichNorms)
                permuteQK = file["general.architecture"]?.stringValue == "llama"
                heads = config.headCount
                kvHeads = config.kvHeadCount
            } else {
                permuteQK = false
                heads = 1
                kvHeads = 1
            }
            for tensor in file.tensors {
                guard let name = WeightLoader.huggingFaceName(gguf: tensor.name, sandwichNorms: sandwichNorms) else { continue }
                let values: [Float]
                do { values = try file.dequantize(tensor) } catch {
                    throw ModelLoadError(source: error.path, reason: error.reason)
                }
                do {
                    var t = try Tensor(values, shape: tensor.shape)
                    if permuteQK && name.contains(".self_attn.q_proj.") {
                        t = try WeightLoader.undoRopePermutation(t, heads: heads)
                    } else if permuteQK && name.contains(".self_attn.k_proj.") {
                        t = try WeightLoader.undoRopePermutation(t, heads: kvHeads)
                    } else if normOffset && name.hasSuffix("norm.weight") {
                        t = try t - 1
                    }
                    out[name] = try convert(t)
                } catch {
                    throw ModelLoadError.torch("\(file.path): \(tensor.name)", error)
                }
            }
        }
        return out
    }

    private func convert(_ t: Tensor) throws(TorchError) -> Tensor {
        var result = t
        if result.dtype != dtype && (result.dtype.isFloatingPoint) { result = try result.to(dtype) }
        if device != .cpu { result = try result.to(device) }
        return result
    }

    /// llama.cpp stores W_q/W_k (and their biases) with rows reordered from
    /// [heads, 2, head_dim/2] to [heads, head_dim/2, 2]; this puts them back.
    static func undoRopePermutation(_ w: Tensor, heads: Int) throws(TorchError) -> Tensor {
        let shape = w.shape
        let rows = shape[0]
        let rest = Array(shape.dropFirst())
        let half = rows / heads / 2
        return try w.reshape([heads, half, 2] + rest).transpose(1, 2).contiguous().reshape(shape)
    }

    /// A multimodal Gemma 3 checkpoint's text-decoder tensor under the text model's name
    /// (`language_model.model.x` in transformers 4, `model.language_model.x` in 5 →
    /// `model.x`); nil for the vision tower and projector, which a text decoder skips.
    static func textDecoderName(_ name: String) -> String? {
        for (prefix, replacement) in [
            ("language_model.model.", "model."), ("model.language_model.", "model."), ("language_model.lm_head.", "lm_head."),
        ]
        where name.hasPrefix(prefix) {
            return replacement + name.dropFirst(prefix.count)
        }
        for prefix in ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."]
        where name.hasPrefix(prefix) {
            return nil
        }
        return name
    }

    /// GGUF tensor name → Hugging Face name (nil for tensors the model does not use). Blocks
    /// with sandwich norms (Gemma) have four: `post_attention_norm` is the attention-output
    /// norm and `ffn_norm` the pre-MLP one.
    static func huggingFaceName(gguf name: String, sandwichNorms: Bool = false) -> String? {
        switch name {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        case "rope_freqs.weight": return "rope_freqs.weight"
        default: break
        }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let module: String
        switch parts[2] {
        case "attn_q": module = "self_attn.q_proj"
        case "attn_k": module = "self_attn.k_proj"
        case "attn_v": module = "self_attn.v_proj"
        case "attn_output": module = "self_attn.o_proj"
        case "ffn_gate": module = "mlp.gate_proj"
        case "ffn_up": module = "mlp.up_proj"
        case "ffn_down": module = "mlp.down_proj"
        case "attn_norm": module = "input_layernorm"
        case "ffn_norm": module = sandwichNorms ? "pre_feedforward_layernorm" : "post_attention_layernorm"
        case "post_attention_norm": module = "post_attention_layernorm"
        case "post_ffw_norm": module = "post_feedforward_layernorm"
        case "attn_q_norm": module = "self_attn.q_norm"
        case "attn_k_norm": module = "self_attn.k_norm"
        default: return nil
        }
        return "model.layers.\(layer).\(module).\(parts[3])"
    }
}

/// Takes tensors out of a loaded dictionary by name, with shape checks that name the
/// tensor and the file.
struct WeightTable {
    var tensors: [String: Tensor]
    let source: String
    /// Random weights made on demand instead of looked up (`CausalLM.random`).
    var random: RandomWeights?
    /// Every tensor taken, by name: what the model keeps.
    private(set) var taken: [String: Tensor] = [:]

    init(tensors: [String: Tensor], source: String, random: RandomWeights? = nil) {
        self.tensors = tensors
        self.source = source
        self.random = random
    }

    mutating func take(_ name: String, shape: [Int]) throws(ModelLoadError) -> Tensor {
        if let random {
            do { taken[name] = try random.make(name, shape: shape) } catch { throw ModelLoadError.torch(source, error) }
            return taken[name]!
        }
        guard let t = tensors.removeValue(forKey: name) else {
            throw ModelLoadError(source: source, reason: "tensor \(name) is missing")
        }
        guard t.shape == shape else {
            throw ModelLoadError(source: source, reason: "tensor \(name) has shape \(t.shape), expected \(shape)")
        }
        taken[name] = t
        return t
    }

    mutating func takeIf(_ name: String, shape: [Int], present: Bool) throws(ModelLoadError) -> Tensor? {
        present ? try take(name, shape: shape) : nil
    }
}

/// How `CausalLM.random` fills a model: matrices from N(0, 0.02²) (transformers'
/// `initializer_range`), biases 0, norm weights 1 — or 0 where the norm multiplies by 1 + w
/// (Gemma) — in the model's dtype, made on the device.
struct RandomWeights {
    let dtype: DType
    let device: Device
    let generator: Generator
    let offsetNorms: Bool

    func make(_ name: String, shape: [Int]) throws(TorchError) -> Tensor {
        if shape.count == 1 {
            let one = name.hasSuffix("norm.weight") && !offsetNorms
            return one ? try Tensor.ones(shape, dtype: dtype, device: device) : try Tensor.zeros(shape, dtype: dtype, device: device)
        }
        return try Tensor.randn(shape, dtype: dtype, device: device, generator: generator) * 0.02
    }
}

import ModelFormats
import Torch

/// LoRA adapters on a causal LM: made fresh, loaded from peft's tensors, switched off for
/// the reference policy, and folded into the weights. Every variant shares the base
/// weights with the model it was made from; no second copy of the model exists.
extension CausalLM {
    /// peft's name of an adapter tensor: `base_model.model.<module>.lora_A.weight` (or B),
    /// the module named from the model's root (`model.language_model.layers.N…` in a
    /// vision-language wrapper, `model.layers.N…` otherwise).
    func adapterKey(module: String, _ part: String) -> String {
        let path = config.moduleRoot == "model" ? module : config.moduleRoot + module.dropFirst("model".count)
        return "base_model.model.\(path).lora_\(part).weight"
    }

    /// Adapter tensors as this model names them: in a vision-language wrapper, transformers
    /// 4's spelling (`language_model.model.…`) becomes 5's, and the vision tower's and
    /// projector's adapters (peft's `q_proj` also selects the vision attention) are set
    /// aside — iap runs the text decoder alone.
    func textDecoderAdapters(_ tensors: [String: Tensor]) -> [String: Tensor] {
        guard config.moduleRoot != "model" else { return tensors }
        var out: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            if name.contains(".vision_tower.") || name.contains(".multi_modal_projector.") { continue }
            let older = "base_model.model.language_model.model."
            out[name.hasPrefix(older) ? "base_model.model.model.language_model." + name.dropFirst(older.count) : name] = tensor
        }
        return out
    }

    /// This model's weights with fresh adapters on the layers `config` targets, initialised
    /// as peft does — A Kaiming-uniform with a = √5, i.e. U(±1/√in), and B zero — so the model
    /// computes exactly what the base does until B is trained. Adapters are held in `dtype`
    /// (float32 by default, over a base in any dtype).
    public func withNewAdapters(_ config: LoRAAdapterConfig, seed: UInt64, dtype adapterType: DType = .float32) throws(LoRAError)
        -> CausalLM
    {
        if let problem = config.problem { throw LoRAError("lora: \(problem)") }
        var tensors: [String: Tensor] = [:]
        do {
            let generator = try Generator(seed: seed, device: device)
            for (layer, linear) in try AdaptableLinear.selected(by: config.targetModules, layers: self.config.layerCount) {
                let weight = layers[layer][keyPath: linear.field].weight  // [out, in]
                let (out, input) = (weight.shape[0], weight.shape[1])
                let module = linear.moduleName(layer: layer)
                let a = try Tensor.empty([config.r, input], dtype: adapterType, device: device)
                let bound = 1 / Double(input).squareRoot()
                try a.uniform_(from: -bound, to: bound, generator: generator)
                tensors[adapterKey(module: module, "A")] = a
                tensors[adapterKey(module: module, "B")] = try Tensor.zeros([out, config.r], dtype: adapterType, device: device)
            }
        } catch let error as LoRAError {
            throw error
        } catch {
            throw LoRAError("lora: making adapters: \(error)")
        }
        return try withAdapters(config, tensors: tensors, source: "lora")
    }

    /// This model's weights with the adapters in `tensors` (peft's names, as in
    /// `adapter_model.safetensors`). Every targeted layer needs its A [r, in] and B [out, r];
    /// a tensor of no targeted layer, a shape of another model or a rank other than the
    /// config's is an error naming the tensor. `source` names the adapter in errors.
    public func withAdapters(_ config: LoRAAdapterConfig, tensors: [String: Tensor], source: String) throws(LoRAError) -> CausalLM {
        if let problem = config.problem { throw LoRAError("\(source): adapter_config.json: \(problem)") }
        var remaining = textDecoderAdapters(tensors)
        var adapted = layers.map(\.withoutAdapters)
        for (layer, linear) in try AdaptableLinear.selected(by: config.targetModules, layers: self.config.layerCount) {
            let module = linear.moduleName(layer: layer)
            let weight = adapted[layer][keyPath: linear.field].weight
            let (out, input) = (weight.shape[0], weight.shape[1])
            func take(_ part: String, shape: [Int]) throws(LoRAError) -> Tensor {
                let key = adapterKey(module: module, part)
                guard let t = remaining.removeValue(forKey: key) else {
                    throw LoRAError("\(source): \(key) is missing (target_modules selects \(module))")
                }
                if t.shape == shape { return t }
                let rank = part == "A" ? t.shape.first : t.shape.last
                if t.rank == 2 && rank != config.r && (part == "A" ? t.shape[1] == input : t.shape[0] == out) {
                    throw LoRAError("\(source): \(key) has rank \(rank ?? 0) but adapter_config.json says r = \(config.r)")
                }
                throw LoRAError(
                    "\(source): \(key) has shape \(t.shape), this model's \(module) needs \(shape): an adapter for another base model?")
            }
            let a = try take("A", shape: [config.r, input])
            let b = try take("B", shape: [out, config.r])
            do {
                let (onA, onB) = (try a.to(device), try b.to(device))
                guard onA.dtype == onB.dtype, onA.dtype.isFloatingPoint else {
                    throw LoRAError("\(source): \(module)'s lora_A and lora_B must be floating point of one dtype")
                }
                adapted[layer][keyPath: linear.field].adapter = LoRAAdapter(
                    a: onA, b: onB, scale: config.scale, dropout: config.loraDropout)
            } catch let error as LoRAError {
                throw error
            } catch {
                throw LoRAError("\(source): \(module): \(error)")
            }
        }
        if let extra = remaining.keys.sorted().first {
            throw LoRAError("\(source): tensor \(extra) belongs to no layer that target_modules selects in this model")
        }
        return CausalLM(sharing: self, layers: adapted, lora: config)
    }

    /// The same weights with the adapters off — the base model, sharing every tensor: LoRA's
    /// reference policy.
    public func withoutAdapters() -> CausalLM {
        CausalLM(sharing: self, layers: layers.map(\.withoutAdapters), lora: nil)
    }

    /// The adapters' tensors by peft's names (empty without adapters).
    public var adapterTensors: [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (i, layer) in layers.enumerated() {
            for linear in AdaptableLinear.allCases {
                guard let adapter = layer[keyPath: linear.field].adapter else { continue }
                let module = linear.moduleName(layer: i)
                tensors[adapterKey(module: module, "A")] = adapter.a
                tensors[adapterKey(module: module, "B")] = adapter.b
            }
        }
        return tensors
    }

    /// Every weight with the adapters folded in, W + scale·B·A computed in float32 and
    /// rounded to W's dtype: the weights of a plain model that computes what this one does.
    public func mergedWeights() throws(TorchError) -> [String: Tensor] {
        var merged = weights
        for (i, layer) in layers.enumerated() {
            for linear in AdaptableLinear.allCases {
                let target = layer[keyPath: linear.field]
                guard let adapter = target.adapter else { continue }
                let delta = try adapter.b.to(.float32).matmul(adapter.a.to(.float32)) * adapter.scale
                merged[linear.moduleName(layer: i) + ".weight"] = try (target.weight.to(.float32) + delta).to(target.weight.dtype)
            }
        }
        return merged
    }
}

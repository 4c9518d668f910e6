/// `adapter_config.json` of a PEFT LoRA adapter: the keys peft writes, and reads back with
/// `PeftModel.from_pretrained`. Keys we do not model are ignored on reading; features we do
/// not implement (DoRA, per-module ranks, layer selection, extra trainable modules, biases)
/// are refused by `validate()` with the key named, rather than loaded wrongly.
public struct LoRAAdapterConfig: Codable, Sendable, Equatable {
    public var peftType = "LORA"
    public var taskType: String? = "CAUSAL_LM"
    /// The rank r: A is [r, in], B is [out, r].
    public var r = 16
    public var loraAlpha = 32.0
    public var loraDropout = 0.0
    public var targetModules = TargetModules.allLinear
    /// rsLoRA: the update is scaled by alpha/√r instead of alpha/r.
    public var useRslora = false
    public var bias = "none"
    public var baseModelNameOrPath: String?
    public var fanInFanOut = false
    public var inferenceMode = false
    public var useDora = false
    public var rankPattern: [String: Int] = [:]
    public var alphaPattern: [String: Double] = [:]
    /// Present only to be refused when set (we do not implement them).
    public var layersToTransform: [Int]?
    public var modulesToSave: [String]?
    public var loraBias = false
    /// peft features set in the file that we do not implement (keys of `Self.unsupportedKeys`).
    public var unsupportedSet: [String] = []

    /// Keys of peft features that are off when absent, null, false or empty.
    static let unsupportedKeys = [
        "exclude_modules", "target_parameters", "trainable_token_indices", "layer_replication", "use_qalora", "use_bdlora",
        "alora_invocation_tokens", "layers_pattern",
    ]

    public init() {}

    /// Which linear layers get adapters: named modules (the last part of a module's name,
    /// as peft matches them) or every linear layer but the LM head.
    public enum TargetModules: Codable, Sendable, Equatable {
        case names([String])
        case allLinear

        public init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let names = try? single.decode([String].self) {
                self = .names(names)
            } else if let text = try? single.decode(String.self), text == "all-linear" {
                self = .allLinear
            } else {
                throw DecodingError.dataCorruptedError(
                    in: single,
                    debugDescription:
                        "target_modules must be a list of module names or \"all-linear\" (regular expressions are not supported)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            switch self {
            case .names(let names): try single.encode(names)
            case .allLinear: try single.encode("all-linear")
            }
        }
    }

    /// The factor of the low-rank update B·A: alpha/r, or alpha/√r with rsLoRA.
    public var scale: Double { useRslora ? loraAlpha / Double(r).squareRoot() : loraAlpha / Double(r) }

    /// What this adapter asks for that we do not implement, or values out of range, naming
    /// the key; nil when it can be used.
    public var problem: String? {
        if peftType != "LORA" { return "peft_type is \(peftType); only LORA adapters are supported" }
        if r < 1 { return "r must be at least 1, got \(r)" }
        if !loraAlpha.isFinite || loraAlpha <= 0 { return "lora_alpha must be positive, got \(loraAlpha)" }
        // The scale multiplies B·A in the model's precision (float16 at the narrowest): past
        // its range the update is infinite and every output NaN.
        if scale > 65504 {
            return "lora_alpha \(loraAlpha) with r \(r) gives the scale \(scale), beyond float16's largest number (65504)"
        }
        if !(0..<1).contains(loraDropout) { return "lora_dropout must be in [0, 1), got \(loraDropout)" }
        if case .names(let names) = targetModules, names.isEmpty { return "target_modules names no module" }
        if useDora { return "use_dora: DoRA adapters are not supported" }
        if bias != "none" { return "bias is \(bias); only \"none\" is supported" }
        if loraBias { return "lora_bias: adapters with a bias are not supported" }
        if fanInFanOut { return "fan_in_fan_out: only the [out, in] layout of Llama-family linear layers is supported" }
        if !rankPattern.isEmpty || !alphaPattern.isEmpty { return "rank_pattern/alpha_pattern: per-module ranks are not supported" }
        if let layers = layersToTransform, !layers.isEmpty { return "layers_to_transform: adapting only some layers is not supported" }
        if let modules = modulesToSave, !modules.isEmpty { return "modules_to_save: fully trained extra modules are not supported" }
        if let key = unsupportedSet.first { return "\(key) is set: that peft feature is not supported" }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type", taskType = "task_type", r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout"
        case targetModules = "target_modules", useRslora = "use_rslora", bias, baseModelNameOrPath = "base_model_name_or_path"
        case fanInFanOut = "fan_in_fan_out", inferenceMode = "inference_mode", useDora = "use_dora", rankPattern = "rank_pattern"
        case alphaPattern = "alpha_pattern", layersToTransform = "layers_to_transform", modulesToSave = "modules_to_save"
        case loraBias = "lora_bias"
    }

    /// Missing keys take peft's defaults (its config files written by older versions lack
    /// some); `layers_to_transform` may be one layer number.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        peftType = try c.decodeIfPresent(String.self, forKey: .peftType) ?? d.peftType
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType)
        r = try c.decodeIfPresent(Int.self, forKey: .r) ?? 8
        loraAlpha = try c.decodeIfPresent(Double.self, forKey: .loraAlpha) ?? 8
        loraDropout = try c.decodeIfPresent(Double.self, forKey: .loraDropout) ?? 0
        targetModules = try c.decodeIfPresent(TargetModules.self, forKey: .targetModules) ?? .names([])
        useRslora = try c.decodeIfPresent(Bool.self, forKey: .useRslora) ?? false
        bias = try c.decodeIfPresent(String.self, forKey: .bias) ?? "none"
        baseModelNameOrPath = try c.decodeIfPresent(String.self, forKey: .baseModelNameOrPath)
        fanInFanOut = try c.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false
        inferenceMode = try c.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? false
        useDora = try c.decodeIfPresent(Bool.self, forKey: .useDora) ?? false
        rankPattern = try c.decodeIfPresent([String: Int].self, forKey: .rankPattern) ?? [:]
        alphaPattern = try c.decodeIfPresent([String: Double].self, forKey: .alphaPattern) ?? [:]
        if let one = try? c.decodeIfPresent(Int.self, forKey: .layersToTransform) {
            layersToTransform = [one]
        } else {
            layersToTransform = try c.decodeIfPresent([Int].self, forKey: .layersToTransform)
        }
        modulesToSave = try c.decodeIfPresent([String].self, forKey: .modulesToSave)
        loraBias = try c.decodeIfPresent(Bool.self, forKey: .loraBias) ?? false
        let any = try decoder.container(keyedBy: AnyKey.self)
        unsupportedSet = Self.unsupportedKeys.filter { key in
            (try? any.decodeIfPresent(Setting.self, forKey: AnyKey(key)))??.isSet == true
        }
    }

    /// Any key of the file.
    struct AnyKey: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// Whether a JSON value turns a feature on: anything but null, false, 0, "" or empty.
    struct Setting: Decodable {
        let isSet: Bool
        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                isSet = false
            } else if let flag = try? single.decode(Bool.self) {
                isSet = flag
            } else if let number = try? single.decode(Double.self) {
                isSet = number != 0
            } else if let text = try? single.decode(String.self) {
                isSet = !text.isEmpty
            } else if let list = try? single.decode([Setting].self) {
                isSet = !list.isEmpty
            } else {
                isSet = !((try? single.decode([String: Setting].self))?.isEmpty ?? false)
            }
        }
    }
}

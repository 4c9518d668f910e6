import ModelFormats

extension TrainConfig {
    /// `lora:` — train low-rank adapters (PEFT's LoRA) instead of every weight; `r: 0` (the
    /// default) trains every weight. With adapters, the reference policy is the same model
    /// with its adapters off (no second copy is loaded), and checkpoints hold the adapters
    /// and their optimizer state only, as a PEFT adapter folder.
    public struct LoRA: Codable, Sendable, Equatable {
        /// The rank; 0: no adapters.
        public var r = 0
        public var alpha = 32.0
        public var dropout = 0.0
        /// Module names (`q_proj`, `v_proj`, … as peft matches them) or `all-linear`.
        public var targetModules = ["all-linear"]
        /// rsLoRA scaling: alpha/√r instead of alpha/r.
        public var rslora = false
        /// The adapters' dtype (the base weights keep `policy.dtype`).
        public var dtype = WeightType.float32

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case r, alpha, dropout
            case targetModules = "target_modules"
            case rslora, dtype
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            r = try read(.r, d.r)
            alpha = try read(.alpha, d.alpha)
            dropout = try read(.dropout, d.dropout)
            targetModules = try read(.targetModules, d.targetModules)
            rslora = try read(.rslora, d.rslora)
            dtype = try read(.dtype, d.dtype)
        }

        /// The adapters these settings describe, in peft's terms; nil when `r` is 0.
        public var adapterConfig: LoRAAdapterConfig? {
            guard r > 0 else { return nil }
            var config = LoRAAdapterConfig()
            config.r = r
            config.loraAlpha = alpha
            config.loraDropout = dropout
            config.targetModules = targetModules == ["all-linear"] ? .allLinear : .names(targetModules)
            config.useRslora = rslora
            return config
        }

        /// Out-of-range values, naming the key.
        func validate() throws(ConfigError) {
            guard r >= 0 else { throw ConfigError("lora.r: at least 0, got \(r)") }
            if let problem = adapterConfig?.problem { throw ConfigError("lora: \(problem)") }
            if r > 0 && targetModules.contains("all-linear") && targetModules.count > 1 {
                throw ConfigError("lora.target_modules: all-linear stands alone, got \(targetModules)")
            }
        }
    }
}

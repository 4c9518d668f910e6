import ModelFormats

extension TrainConfig {
    /// `policy:` — the model trained, and where and how it runs.
    public struct Policy: Codable, Sendable, Equatable {
        /// A known model name, a .gguf file or a Hugging Face folder.
        public var model = "smollm2-135m-instruct"
        public var dtype = WeightType.float32
        /// `cpu`, `cuda[:N]`, or `auto`: the first GPU when one can be used, else the CPU
        /// (resolved when a job starts; the run's config.yaml records what it resolved to).
        public var device = "cpu"
        /// Recompute each block in the backward pass (less memory, same result).
        public var gradientCheckpointing = false
        /// MiB of the LM head's logits kept from the forward pass for the backward pass; the
        /// rest are recomputed there (less memory, one more head matmul).
        public var keptLogitsMiB = 2048
        /// A chat template file instead of the model's own, or `plain`: iap's plain template
        /// (the paper's base models, whose tokenizers may ship a chat template anyway).
        public var chatTemplate: String?
        /// How generation (rollouts, reference answers) runs its decoding steps: `eager`;
        /// `static` (the step CUDA graphs record, run eagerly); `cuda_graphs` (a CUDA device and
        /// gpu/libiap_cuda_graphs.so from `make gpu-bundle`).
        public var decodeSteps = DecodeSteps.eager

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case model, dtype, device
            case gradientCheckpointing = "gradient_checkpointing"
            case keptLogitsMiB = "kept_logits_mib"
            case chatTemplate = "chat_template"
            case decodeSteps = "decode_steps"
        }

        public init(from decoder: any Decoder) throws {
            let read = try SectionReader(decoder, CodingKeys.self)
            let d = Self()
            model = try read(.model, d.model)
            dtype = try read(.dtype, d.dtype)
            device = try read(.device, d.device)
            gradientCheckpointing = try read(.gradientCheckpointing, d.gradientCheckpointing)
            keptLogitsMiB = try read(.keptLogitsMiB, d.keptLogitsMiB)
            chatTemplate = try read(.chatTemplate, d.chatTemplate)
            decodeSteps = try read(.decodeSteps, d.decodeSteps)
        }
    }
}

/// `policy.decode_steps` (DecodeSteps.swift, shared with the engine and the command line).
extension DecodeSteps: ConfigChoice {}

/// `policy.dtype`, `lora.dtype` (WeightType.swift, shared with the command line's `--dtype`).
extension WeightType: ConfigChoice {}

extension TrainConfig.Policy {
    /// Whether the device is a GPU or may resolve to one (`auto`).
    public var mayUseCUDA: Bool { device == "auto" || device.hasPrefix("cuda") }

    /// `auto` made concrete: `cuda` when a GPU can be used, else `cpu`; other devices stay.
    public mutating func resolveDevice(cudaAvailable: Bool) {
        if device == "auto" { device = cudaAvailable ? "cuda" : "cpu" }
    }

    func validateDevice() throws(ConfigError) {
        let index = device.hasPrefix("cuda:") ? Int(device.dropFirst(5)) : nil
        guard ["auto", "cpu", "cuda"].contains(device) || (index ?? -1) >= 0 else {
            throw ConfigError("policy.device: '\(device)' is not auto, cpu, cuda or cuda:N")
        }
    }
}

extension WeightType {
    /// Bytes of one element.
    public var byteSize: Int { self == .float32 ? 4 : 2 }
}

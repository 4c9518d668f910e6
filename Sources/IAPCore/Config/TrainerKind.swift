/// Which trainer runs a config: the IAP trainer (`iap train`) or the SFT baseline (`iap sft`).
/// Both read the same sections; a few settings suit only one of them.
public enum TrainerKind: String, Sendable {
    case iap = "train"
    case sft

    /// The command that runs this trainer (`iap train`, `iap sft`).
    public var command: String { rawValue }
}

extension TrainConfig {
    /// `validate()`, then the rules of the trainer that will run the config.
    public func validate(for trainer: TrainerKind) throws(ConfigError) {
        try validate()
        if trainer == .sft && dist.strategy == .fsdp {
            throw ConfigError("dist.strategy: fsdp is built for iap train; iap sft shards with zero2 (or replicates with ddp)")
        }
    }
}

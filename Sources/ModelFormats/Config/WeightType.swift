/// The type a model's weights are held in: `policy.dtype` in a config, `--dtype` on the
/// command line (which also takes the short names f32, bf16, f16).
public enum WeightType: String, CaseIterable, Sendable {
    case float32, bfloat16, float16

    /// A name or short name: `float32`/`f32`, `bfloat16`/`bf16`, `float16`/`f16`.
    public init?(name: String) {
        switch name {
        case "f32": self = .float32
        case "bf16": self = .bfloat16
        case "f16": self = .float16
        default: self.init(rawValue: name)
        }
    }
}

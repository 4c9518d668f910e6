/// Element types. Raw values are c10::ScalarType numbers, the CTorch ABI's dtype codes.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int32 = 3
    case int64 = 4
    case float16 = 5
    case float32 = 6
    case float64 = 7
    case bool = 11
    case bfloat16 = 15

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .uint8, .bool: 1
        case .float16, .bfloat16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// The most negative finite value (`torch.finfo(dtype).min`); nil for integer types.
    public var lowestFinite: Double? {
        switch self {
        case .float16: -65504
        case .bfloat16: -3.3895313892515355e38
        case .float32: -Double(Float.greatestFiniteMagnitude)
        case .float64: -Double.greatestFiniteMagnitude
        default: nil
        }
    }

    /// The dtype name used by safetensors headers ("F32", "BF16", …).
    public var safetensorsName: String {
        switch self {
        case .uint8: "U8"
        case .int32: "I32"
        case .int64: "I64"
        case .float16: "F16"
        case .float32: "F32"
        case .float64: "F64"
        case .bool: "BOOL"
        case .bfloat16: "BF16"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    public var description: String {
        switch self {
        case .uint8: "u8"
        case .int32: "i32"
        case .int64: "i64"
        case .float16: "f16"
        case .float32: "f32"
        case .float64: "f64"
        case .bool: "bool"
        case .bfloat16: "bf16"
        }
    }
}

/// Swift scalar types that map one-to-one onto a dtype, for copying arrays in and out.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
#if arch(x86_64) || arch(arm64)
    extension Float16: TensorElement { public static var dtype: DType { .float16 } }
#endif

import CTorch

/// Element-wise math with broadcasting. Every operator throws (shape or dtype mismatch);
/// one `try` covers a whole expression: `let y = try (x * w + b).relu()`.
extension Tensor {
    func unary(_ op: ct_unary_op, _ name: String) throws(TorchError) -> Tensor {
        try owned(name, ct_unary(op, handle))
    }

    func binary(_ op: ct_binary_op, _ other: Tensor, _ name: String) throws(TorchError) -> Tensor {
        try owned(name, ct_binary(op, handle, other.handle))
    }

    func binary(_ op: ct_binary_op, _ other: Scalar, _ name: String) throws(TorchError) -> Tensor {
        try owned(name, ct_binary_scalar(op, handle, other.c))
    }

    public func neg() throws(TorchError) -> Tensor { try unary(CT_UNARY_NEG, "neg") }
    public func exp() throws(TorchError) -> Tensor { try unary(CT_UNARY_EXP, "exp") }
    public func log() throws(TorchError) -> Tensor { try unary(CT_UNARY_LOG, "log") }
    public func sqrt() throws(TorchError) -> Tensor { try unary(CT_UNARY_SQRT, "sqrt") }
    public func rsqrt() throws(TorchError) -> Tensor { try unary(CT_UNARY_RSQRT, "rsqrt") }
    public func tanh() throws(TorchError) -> Tensor { try unary(CT_UNARY_TANH, "tanh") }
    public func sigmoid() throws(TorchError) -> Tensor { try unary(CT_UNARY_SIGMOID, "sigmoid") }
    /// x · sigmoid(x), the SwiGLU gate.
    public func silu() throws(TorchError) -> Tensor { try unary(CT_UNARY_SILU, "silu") }
    /// Exact (erf) GELU, or the tanh approximation when `approximate`.
    public func gelu(approximate: Bool = false) throws(TorchError) -> Tensor {
        try unary(approximate ? CT_UNARY_GELU_TANH : CT_UNARY_GELU, "gelu")
    }
    public func relu() throws(TorchError) -> Tensor { try unary(CT_UNARY_RELU, "relu") }
    public func abs() throws(TorchError) -> Tensor { try unary(CT_UNARY_ABS, "abs") }
    public func sin() throws(TorchError) -> Tensor { try unary(CT_UNARY_SIN, "sin") }
    public func cos() throws(TorchError) -> Tensor { try unary(CT_UNARY_COS, "cos") }
    public func log1p() throws(TorchError) -> Tensor { try unary(CT_UNARY_LOG1P, "log1p") }
    public func expm1() throws(TorchError) -> Tensor { try unary(CT_UNARY_EXPM1, "expm1") }
    public func floor() throws(TorchError) -> Tensor { try unary(CT_UNARY_FLOOR, "floor") }
    public func ceil() throws(TorchError) -> Tensor { try unary(CT_UNARY_CEIL, "ceil") }
    public func round() throws(TorchError) -> Tensor { try unary(CT_UNARY_ROUND, "round") }
    public func sign() throws(TorchError) -> Tensor { try unary(CT_UNARY_SIGN, "sign") }
    public func reciprocal() throws(TorchError) -> Tensor { try unary(CT_UNARY_RECIPROCAL, "reciprocal") }
    public func square() throws(TorchError) -> Tensor { try unary(CT_UNARY_SQUARE, "square") }
    public func erf() throws(TorchError) -> Tensor { try unary(CT_UNARY_ERF, "erf") }
    public func logicalNot() throws(TorchError) -> Tensor { try unary(CT_UNARY_LOGICAL_NOT, "logicalNot") }
    public func isNaN() throws(TorchError) -> Tensor { try unary(CT_UNARY_ISNAN, "isNaN") }
    public func isFinite() throws(TorchError) -> Tensor { try unary(CT_UNARY_ISFINITE, "isFinite") }

    public func pow(_ exponent: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_POW, exponent, "pow") }
    public func pow(_ exponent: Double) throws(TorchError) -> Tensor { try binary(CT_BINARY_POW, .float(exponent), "pow") }
    public func maximum(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_MAXIMUM, other, "maximum") }
    public func minimum(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_MINIMUM, other, "minimum") }
    public func remainder(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_REMAINDER, other, "remainder") }
    public func floorDivide(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_FLOOR_DIVIDE, other, "floorDivide") }

    public func eq(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_EQ, other, "eq") }
    public func eq(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_EQ, other, "eq") }
    public func ne(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_NE, other, "ne") }
    public func ne(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_NE, other, "ne") }
    public func lt(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_LT, other, "lt") }
    public func lt(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_LT, other, "lt") }
    public func le(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_LE, other, "le") }
    public func le(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_LE, other, "le") }
    public func gt(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_GT, other, "gt") }
    public func gt(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_GT, other, "gt") }
    public func ge(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_GE, other, "ge") }
    public func ge(_ other: Scalar) throws(TorchError) -> Tensor { try binary(CT_BINARY_GE, other, "ge") }
    public func logicalAnd(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_LOGICAL_AND, other, "logicalAnd") }
    public func logicalOr(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BINARY_LOGICAL_OR, other, "logicalOr") }

    /// Clamps into [min, max]; either bound may be omitted.
    public func clamp(min: Double? = nil, max: Double? = nil) throws(TorchError) -> Tensor {
        try owned("clamp", ct_clamp(handle, min != nil, min ?? 0, max != nil, max ?? 0))
    }

    /// A copy with `value` wherever `mask` (bool, broadcastable) is true.
    public func maskedFill(_ mask: Tensor, _ value: Scalar) throws(TorchError) -> Tensor {
        try owned("maskedFill", ct_masked_fill(handle, mask.handle, value.c))
    }

    public func maskedFill(_ mask: Tensor, _ value: Double) throws(TorchError) -> Tensor {
        try maskedFill(mask, .float(value))
    }

    /// Element-wise choice: `a` where `condition` is true, else `b` (broadcasting).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws(TorchError) -> Tensor {
        try owned("where", ct_where(condition.handle, a.handle, b.handle))
    }

    public func to(_ dtype: DType) throws(TorchError) -> Tensor {
        try owned("to(dtype)", ct_to_dtype(handle, dtype.rawValue))
    }

    public func to(_ device: Device) throws(TorchError) -> Tensor {
        if case .cuda = device { CUDARuntime.load() }
        return try owned("to(device)", ct_to_device(handle, device.typeCode, device.indexCode))
    }

    /// A copy that owns its storage (gradients flow through it).
    public func clone() throws(TorchError) -> Tensor { try owned("clone", ct_clone(handle)) }

    public func dropout(_ p: Double, training: Bool) throws(TorchError) -> Tensor {
        try owned("dropout", ct_dropout(handle, p, training))
    }

    // MARK: operators

    public static func + (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_ADD, b, "+") }
    public static func - (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_SUB, b, "-") }
    public static func * (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_MUL, b, "*") }
    public static func / (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_DIV, b, "/") }

    public static func + (a: Tensor, b: Double) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_ADD, .float(b), "+") }
    public static func - (a: Tensor, b: Double) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_SUB, .float(b), "-") }
    public static func * (a: Tensor, b: Double) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_MUL, .float(b), "*") }
    public static func / (a: Tensor, b: Double) throws(TorchError) -> Tensor { try a.binary(CT_BINARY_DIV, .float(b), "/") }

    public static func + (a: Double, b: Tensor) throws(TorchError) -> Tensor { try b.binary(CT_BINARY_ADD, .float(a), "+") }
    public static func * (a: Double, b: Tensor) throws(TorchError) -> Tensor { try b.binary(CT_BINARY_MUL, .float(a), "*") }
    public static func - (a: Double, b: Tensor) throws(TorchError) -> Tensor {
        try owned("-", ct_scalar_binary(CT_BINARY_SUB, Scalar.float(a).c, b.handle))
    }
    public static func / (a: Double, b: Tensor) throws(TorchError) -> Tensor {
        try owned("/", ct_scalar_binary(CT_BINARY_DIV, Scalar.float(a).c, b.handle))
    }

    public static prefix func - (a: Tensor) throws(TorchError) -> Tensor { try a.neg() }
}

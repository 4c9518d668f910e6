import CTorch

/// A number passed to libtorch: integral values stay integral so that integer tensors are
/// not promoted to floating point.
public enum Scalar: Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    case float(Double)
    case int(Int)
    case bool(Bool)

    public init(floatLiteral value: Double) { self = .float(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    var c: ct_scalar {
        switch self {
        case .float(let v): ct_scalar(kind: 0, f: v, i: 0)
        case .int(let v): ct_scalar(kind: 1, f: 0, i: Int64(v))
        case .bool(let v): ct_scalar(kind: 2, f: 0, i: v ? 1 : 0)
        }
    }
}

extension Tensor {
    /// Copies `values` (row-major) into a new CPU tensor of the given shape; the dtype
    /// follows the element type. `shape` defaults to one dimension.
    public convenience init<T: TensorElement>(_ values: [T], shape: [Int]? = nil) throws(TorchError) {
        let shape = shape ?? [values.count]
        guard elementCount(shape) == values.count else {
            throw TorchError(
                operation: "Tensor(values:shape:)",
                message: "\(values.count) values do not fill shape \(shape)")
        }
        let handle = values.withUnsafeBytes { bytes in
            withInt64s(shape) { ct_from_data(bytes.baseAddress, $0, $1, T.dtype.rawValue) }
        }
        guard let handle else { throw TorchError.last("Tensor(values:shape:)") }
        self.init(owning: handle)
    }

    /// A zero-dimensional tensor holding one value.
    public convenience init<T: TensorElement>(scalar: T) throws(TorchError) {
        try self.init([scalar], shape: [])
    }

    /// Copies raw little-endian bytes laid out as `dtype` elements into a new CPU tensor.
    public convenience init(bytes: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) throws(TorchError) {
        guard let n = elementCount(shape), n.multipliedReportingOverflow(by: dtype.byteSize) == (bytes.count, false) else {
            throw TorchError(
                operation: "Tensor(bytes:dtype:shape:)",
                message: "\(bytes.count) bytes do not fill shape \(shape) of \(dtype)")
        }
        let handle = withInt64s(shape) { ct_from_data(bytes.baseAddress, $0, $1, dtype.rawValue) }
        guard let handle else { throw TorchError.last("Tensor(bytes:dtype:shape:)") }
        self.init(owning: handle)
    }

    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try owned("empty", withInt64s(shape) { ct_empty($0, $1, dtype.rawValue, device.typeCode, device.indexCode) })
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try owned("zeros", withInt64s(shape) { ct_zeros($0, $1, dtype.rawValue, device.typeCode, device.indexCode) })
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try owned("ones", withInt64s(shape) { ct_ones($0, $1, dtype.rawValue, device.typeCode, device.indexCode) })
    }

    public static func full(_ shape: [Int], _ value: Scalar, dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try owned("full", withInt64s(shape) { ct_full($0, $1, value.c, dtype.rawValue, device.typeCode, device.indexCode) })
    }

    /// Values 0, 1, … below end.
    public static func arange(_ end: Scalar, dtype: DType = .int64, device: Device = .cpu) throws(TorchError) -> Tensor {
        try arange(0, end, dtype: dtype, device: device)
    }

    /// Values start, start + step, … below end.
    public static func arange(_ start: Scalar, _ end: Scalar, step: Scalar = 1, dtype: DType = .int64, device: Device = .cpu)
        throws(TorchError) -> Tensor
    {
        try owned("arange", ct_arange(start.c, end.c, step.c, dtype.rawValue, device.typeCode, device.indexCode))
    }

    public func zerosLike() throws(TorchError) -> Tensor { try owned("zerosLike", ct_zeros_like(handle)) }
    public func onesLike() throws(TorchError) -> Tensor { try owned("onesLike", ct_ones_like(handle)) }

    // MARK: random

    /// Standard normal samples; `generator` nil draws from the global default generator.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu, generator: Generator? = nil)
        throws(TorchError) -> Tensor
    {
        try owned("randn", withInt64s(shape) { ct_randn($0, $1, dtype.rawValue, device.typeCode, device.indexCode, generator?.handle) })
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu, generator: Generator? = nil)
        throws(TorchError) -> Tensor
    {
        try owned("rand", withInt64s(shape) { ct_rand($0, $1, dtype.rawValue, device.typeCode, device.indexCode, generator?.handle) })
    }

    /// Integers uniform in [low, high).
    public static func randint(
        _ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64, device: Device = .cpu, generator: Generator? = nil
    ) throws(TorchError) -> Tensor {
        try owned(
            "randint",
            withInt64s(shape) {
                ct_randint(Int64(low), Int64(high), $0, $1, dtype.rawValue, device.typeCode, device.indexCode, generator?.handle)
            })
    }

    /// Draws `samples` indices per row of a [rows, categories] (or [categories]) tensor of
    /// non-negative weights.
    public func multinomial(samples: Int, replacement: Bool = false, generator: Generator? = nil) throws(TorchError) -> Tensor {
        try owned("multinomial", ct_multinomial(handle, Int64(samples), replacement, generator?.handle))
    }

    /// Fills in place with normal samples.
    public func normal_(mean: Double = 0, std: Double = 1, generator: Generator? = nil) throws(TorchError) {
        try checked("normal_", ct_normal_(handle, mean, std, generator?.handle))
    }

    /// Fills in place with uniform samples in [from, to).
    public func uniform_(from: Double = 0, to: Double = 1, generator: Generator? = nil) throws(TorchError) {
        try checked("uniform_", ct_uniform_(handle, from, to, generator?.handle))
    }
}

extension Tensor {
    /// Copies the elements (row-major) into a Swift array, converting to `T`'s dtype first
    /// when needed. Works from any device.
    public func toArray<T: TensorElement>(_ type: T.Type = T.self) throws(TorchError) -> [T] {
        let source = dtype == T.dtype ? self : try to(T.dtype)
        let n = source.count
        var ok = true
        let result = [T](unsafeUninitializedCapacity: n) { buffer, initialized in
            ok = ct_copy_to_host(source.handle, buffer.baseAddress, n * MemoryLayout<T>.stride)
            initialized = ok ? n : 0
        }
        if !ok { throw TorchError.last("toArray") }
        return result
    }

    /// The value of a one-element tensor.
    public func item() throws(TorchError) -> Double {
        var value = 0.0
        try checked("item", ct_item_double(handle, &value))
        return value
    }

    public func itemInt() throws(TorchError) -> Int {
        var value: Int64 = 0
        try checked("itemInt", ct_item_int64(handle, &value))
        return Int(value)
    }

    /// Raw bytes of the elements in row-major order (e.g. for writing files).
    public func bytes() throws(TorchError) -> [UInt8] {
        let n = count * dtype.byteSize
        var ok = true
        let result = [UInt8](unsafeUninitializedCapacity: n) { buffer, initialized in
            ok = ct_copy_to_host(handle, buffer.baseAddress, n)
            initialized = ok ? n : 0
        }
        if !ok { throw TorchError.last("bytes") }
        return result
    }
}

import CTorch

/// An n-dimensional array on a device, owning one libtorch tensor handle.
///
/// The handle is released when the last Swift reference goes away (deterministically, by
/// reference counting). Operations return new tensors; views (`reshape`, `narrow`,
/// `transpose`…) share storage with their source as in PyTorch. Every operation that
/// libtorch can reject throws a ``TorchError`` carrying libtorch's message.
///
/// Sendable because libtorch tensors are reference counted atomically; as in PyTorch,
/// mutating one tensor from two threads at once is a data race the caller must avoid.
public final class Tensor: @unchecked Sendable {
    let handle: ct_tensor

    init(owning handle: ct_tensor) {
        self.handle = handle
    }

    deinit {
        ct_free(handle)
    }

    /// Sizes of every dimension, outermost first.
    public var shape: [Int] {
        let n = Int(ct_dim(handle))
        return [Int](unsafeUninitializedCapacity: n) { buffer, count in
            buffer.withMemoryRebound(to: Int64.self) { ct_sizes(handle, $0.baseAddress) }
            count = n
        }
    }

    public var strides: [Int] {
        let n = Int(ct_dim(handle))
        return [Int](unsafeUninitializedCapacity: n) { buffer, count in
            buffer.withMemoryRebound(to: Int64.self) { ct_strides(handle, $0.baseAddress) }
            count = n
        }
    }

    public var rank: Int { Int(ct_dim(handle)) }
    public var count: Int { Int(ct_numel(handle)) }
    public var isContiguous: Bool { ct_is_contiguous(handle) }

    public var dtype: DType {
        // Every dtype this API can create is a DType case; others fall back to float32
        // only for display and are rejected by the operations that care.
        DType(rawValue: ct_dtype(handle)) ?? .float32
    }

    public var device: Device {
        Device(typeCode: ct_device_type(handle), index: ct_device_index(handle))
    }

    /// Size of one dimension; negative indices count from the end.
    public func size(_ dim: Int) throws(TorchError) -> Int {
        let s = shape
        let d = dim < 0 ? dim + s.count : dim
        guard d >= 0 && d < s.count else {
            throw TorchError(operation: "size", message: "dimension \(dim) is out of range for a tensor of rank \(s.count)")
        }
        return s[d]
    }

    /// True when both tensors point at the same first element of the same storage.
    public func sharesData(with other: Tensor) -> Bool { ct_same_data(handle, other.handle) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        guard let text = ct_to_string(handle) else { return "Tensor(\(dtype), \(shape), unprintable)" }
        defer { ct_free_string(text) }
        return String(cString: text)
    }
}

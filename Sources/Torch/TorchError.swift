import CTorch

/// A failure reported by libtorch, or a misuse caught before calling it.
///
/// `operation` names the Swift call that failed (`matmul`, `reshape`…); `message` is
/// libtorch's own text without its C++ backtrace (shape mismatches, dtype errors,
/// out-of-range indices…).
public struct TorchError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }

    /// The error the shim recorded for the calling thread.
    static func last(_ operation: String) -> TorchError {
        TorchError(operation: operation, message: String(cString: ct_last_error()))
    }
}

/// Turns a handle returned by the shim into an owned tensor, or throws libtorch's message.
@inline(__always)
func owned(_ operation: String, _ handle: ct_tensor?) throws(TorchError) -> Tensor {
    guard let handle else { throw TorchError.last(operation) }
    return Tensor(owning: handle)
}

/// Throws libtorch's message when a status-returning shim call failed.
@inline(__always)
func checked(_ operation: String, _ ok: Bool) throws(TorchError) {
    if !ok { throw TorchError.last(operation) }
}

/// Calls `body` with `values` as a C array of int64 (Swift's Int is 64-bit on our targets).
@inline(__always)
func withInt64s<R>(_ values: [Int], _ body: (UnsafePointer<Int64>?, Int32) -> R) -> R {
    values.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: Int64.self) { body($0.baseAddress, Int32($0.count)) }
    }
}

/// The element count of `shape`, or nil when a size is negative or the product overflows.
func elementCount(_ shape: [Int]) -> Int? {
    var total = 1
    for size in shape {
        guard size >= 0 else { return nil }
        let (product, overflow) = total.multipliedReportingOverflow(by: size)
        if overflow { return nil }
        total = product
    }
    return total
}

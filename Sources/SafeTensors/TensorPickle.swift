/// The pickle program of a `torch.save` state dict, read without running it.
///
/// Python's unpickler executes a program: any global it names is imported and called, which is
/// how a hostile `.bin` runs code. This reader interprets the opcodes a state dict uses and
/// knows a short list of globals by name — an ordered dict, a tensor rebuilt from a storage,
/// a parameter, the typed storages — as `torch.load(weights_only=True)` allows; any other
/// global is refused, naming it. Nothing is imported or called: a tensor is its storage key,
/// dtype, offset, shape and strides.
enum TensorPickle {
    /// A tensor as the pickle describes it: elements `offset ..< offset + count` of storage `key`.
    struct TensorReference: Equatable {
        var storage: StorageReference
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    /// A persistent id `('storage', torch.FloatStorage, '0', 'cpu', numel)`.
    struct StorageReference: Equatable {
        var key: String
        /// safetensors' dtype name (`F32`, `BF16`, …).
        var dtype: String
        var count: Int
    }

    indirect enum Value: Equatable {
        case none, bool(Bool), int(Int), float(Double), string(String)
        case tuple([Value]), list([Value]), dict([String: Value], order: [String])
        case global(String), storage(StorageReference), tensor(TensorReference)
        case mark
    }

    /// The typed storages torch.save writes, by safetensors dtype name and element size.
    static let storageTypes: [String: (dtype: String, size: Int)] = [
        "torch.FloatStorage": ("F32", 4), "torch.DoubleStorage": ("F64", 8), "torch.HalfStorage": ("F16", 2),
        "torch.BFloat16Storage": ("BF16", 2), "torch.LongStorage": ("I64", 8), "torch.IntStorage": ("I32", 4),
        "torch.ShortStorage": ("I16", 2), "torch.CharStorage": ("I8", 1), "torch.ByteStorage": ("U8", 1),
        "torch.BoolStorage": ("BOOL", 1),
    ]

    /// The callables a state dict's pickle may name (REDUCE); the storage types are allowed as
    /// persistent-id arguments only.
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    ]

    /// The state dict's tensors by name (nested dicts flattened with dots, as transformers
    /// names a model's weights).
    static func tensors(_ program: UnsafeRawBufferPointer) throws(PickleError) -> [String: TensorReference] {
        var machine = PickleMachine(program)
        let root = try machine.run()
        var out: [String: TensorReference] = [:]
        try flatten(root, prefix: "", depth: 0, into: &out)
        return out
    }

    private static func flatten(_ value: Value, prefix: String, depth: Int, into out: inout [String: TensorReference]) throws(PickleError) {
        guard depth < 32 else { throw PickleError("dictionaries nested more than 32 deep") }
        switch value {
        case .tensor(let t): out[prefix] = t
        case .dict(let items, let order):
            for key in order {
                if let item = items[key] {
                    try flatten(item, prefix: prefix.isEmpty ? key : prefix + "." + key, depth: depth + 1, into: &out)
                }
            }
        case .none, .int, .float, .bool, .string: break  // metadata beside the weights (e.g. a step count)
        default: throw PickleError("\(prefix.isEmpty ? "the file" : prefix) holds a \(value.kind), not tensors")
        }
    }
}

extension TensorPickle.Value {
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "string"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let name): "global \(name)"
        case .storage: "storage"
        case .tensor: "tensor"
        case .mark: "mark"
        }
    }
}

/// Why a pickle was refused: the construct and, where known, its byte offset.
struct PickleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

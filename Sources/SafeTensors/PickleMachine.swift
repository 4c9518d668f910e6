/// The pickle virtual machine restricted to the opcodes (protocols 2–5) a `torch.save` state
/// dict uses: a stack, a memo and marks. REDUCE calls only `TensorPickle.callables`, here
/// as Swift code that builds values; every other opcode or global is refused, naming it.
struct PickleMachine {
    typealias Value = TensorPickle.Value
    private let bytes: UnsafeRawBufferPointer
    private var at = 0
    private var stack: [Value] = []
    private var memo: [Int: Value] = [:]

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Runs the program to STOP; the value it leaves.
    mutating func run() throws(PickleError) -> Value {
        while true {
            let offset = at
            let op = try byte()
            if op == UInt8(ascii: ".") {
                guard let top = stack.last else { throw PickleError("STOP with an empty stack") }
                return top
            }
            do throws(PickleError) { try step(op) } catch { throw PickleError("byte \(offset): \(error.description)") }
        }
    }

    private mutating func step(_ op: UInt8) throws(PickleError) {
        switch op {
        case 0x80: _ = try byte()  // PROTO
        case 0x95: _ = try take(8)  // FRAME
        case UInt8(ascii: "("): stack.append(.mark)
        case UInt8(ascii: ")"): stack.append(.tuple([]))
        case UInt8(ascii: "}"): stack.append(.dict([:], order: []))
        case UInt8(ascii: "]"): stack.append(.list([]))
        case UInt8(ascii: "N"): stack.append(.none)
        case 0x88, 0x89: stack.append(.bool(op == 0x88))
        case UInt8(ascii: "K"): stack.append(.int(Int(try byte())))
        case UInt8(ascii: "M"): stack.append(.int(Int(try integer(2))))
        case UInt8(ascii: "J"): stack.append(.int(Int(Int32(truncatingIfNeeded: try integer(4)))))
        case 0x8a: stack.append(.int(try long(Int(try byte()))))
        case UInt8(ascii: "G"): stack.append(.float(Double(bitPattern: UInt64(bigEndian: try integer(8)))))
        case UInt8(ascii: "X"), UInt8(ascii: "T"): stack.append(.string(try text(Int(try integer(4)))))
        case 0x8c, UInt8(ascii: "U"): stack.append(.string(try text(Int(try byte()))))
        case 0x8d: stack.append(.string(try text(Int(clamping: try integer(8)))))
        case UInt8(ascii: "t"): stack.append(.tuple(try popToMark()))
        case 0x85, 0x86, 0x87: stack.append(.tuple(try pop(Int(op - 0x84))))
        case UInt8(ascii: "q"): memo[Int(try byte())] = try top()
        case UInt8(ascii: "r"): memo[Int(try integer(4))] = try top()
        case 0x94: memo[memo.count] = try top()
        case UInt8(ascii: "h"): stack.append(try recall(Int(try byte())))
        case UInt8(ascii: "j"): stack.append(try recall(Int(try integer(4))))
        case UInt8(ascii: "c"): stack.append(.global(try line() + "." + line()))
        case 0x93:
            let parts = try pop(2)
            guard case .string(let module) = parts[0], case .string(let name) = parts[1] else {
                throw PickleError("STACK_GLOBAL of non-strings")
            }
            stack.append(.global(module + "." + name))
        case UInt8(ascii: "Q"): stack.append(try persistent(try pop(1)[0]))
        case UInt8(ascii: "R"):
            let parts = try pop(2)
            stack.append(try reduce(parts[0], parts[1]))
        case UInt8(ascii: "b"): _ = try pop(1)  // BUILD: state of a tensor or dict (hooks, metadata) is not weights
        case UInt8(ascii: "s"): try setItems(try pop(2))
        case UInt8(ascii: "u"): try setItems(try popToMark())
        case UInt8(ascii: "a"): try append(try pop(1))
        case UInt8(ascii: "e"): try append(try popToMark())
        default: throw PickleError("opcode 0x\(String(op, radix: 16)) is not one a state dict uses (refused)")
        }
    }

    /// `callable(*arguments)` for the known callables only.
    private func reduce(_ callable: Value, _ arguments: Value) throws(PickleError) -> Value {
        guard case .global(let name) = callable else { throw PickleError("REDUCE of a \(callable.kind)") }
        guard TensorPickle.callables.contains(name), case .tuple(let args) = arguments else {
            throw PickleError("refuses global \(name): only dictionaries of tensors are read (as torch.load(weights_only=True))")
        }
        switch name {
        case "collections.OrderedDict": return .dict([:], order: [])
        case "torch._utils._rebuild_tensor_v2":
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                let shape = Self.ints(args[2]), let strides = Self.ints(args[3]), shape.count == strides.count
            else { throw PickleError("_rebuild_tensor_v2 with arguments it does not take") }
            return .tensor(TensorPickle.TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        default:  // _rebuild_parameter(tensor, requires_grad, hooks[, state])
            guard case .tensor = args.first else { throw PickleError("\(name) of something other than a tensor") }
            return args[0]
        }
    }

    /// `('storage', torch.FloatStorage, key, location, numel)`.
    private func persistent(_ id: Value) throws(PickleError) -> Value {
        guard case .tuple(let parts) = id, parts.count == 5, parts[0] == .string("storage"), case .global(let type) = parts[1],
            case .string(let key) = parts[2], case .int(let count) = parts[4]
        else { throw PickleError("a persistent id that is not a storage") }
        guard let known = TensorPickle.storageTypes[type] else { throw PickleError("refuses storage type \(type)") }
        return .storage(TensorPickle.StorageReference(key: key, dtype: known.dtype, count: count))
    }

    private static func ints(_ value: Value) -> [Int]? {
        guard case .tuple(let items) = value else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let n) = item else { return nil }
            out.append(n)
        }
        return out
    }

    private mutating func setItems(_ flat: [Value]) throws(PickleError) {
        guard flat.count % 2 == 0, case .dict(var items, var order) = try pop(1)[0] else { throw PickleError("SETITEM(S) not on a dict") }
        for k in stride(from: 0, to: flat.count, by: 2) {
            guard case .string(let key) = flat[k] else { throw PickleError("a dict key that is a \(flat[k].kind), not a name") }
            if items[key] == nil { order.append(key) }
            items[key] = flat[k + 1]
        }
        stack.append(.dict(items, order: order))
    }

    private mutating func append(_ values: [Value]) throws(PickleError) {
        guard case .list(let items) = try pop(1)[0] else { throw PickleError("APPEND(S) not on a list") }
        stack.append(.list(items + values))
    }

    // MARK: reading

    private mutating func byte() throws(PickleError) -> UInt8 {
        guard at < bytes.count else { throw PickleError("the pickle ends without STOP") }
        defer { at += 1 }
        return bytes[at]
    }

    private mutating func take(_ n: Int) throws(PickleError) -> UnsafeRawBufferPointer {
        guard n >= 0, at <= bytes.count - n else { throw PickleError("the pickle ends inside an argument") }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
    }

    /// An unsigned little-endian integer of `n` bytes.
    private mutating func integer(_ n: Int) throws(PickleError) -> UInt64 {
        try take(n).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// LONG1: a two's-complement little-endian integer of `n` bytes (at most 8).
    private mutating func long(_ n: Int) throws(PickleError) -> Int {
        guard n <= 8 else { throw PickleError("an integer of \(n) bytes") }
        guard n > 0 else { return 0 }
        let raw = try integer(n)
        let shift = UInt64(64 - 8 * n)
        return Int(Int64(bitPattern: raw << shift) >> Int64(shift))
    }

    private mutating func text(_ n: Int) throws(PickleError) -> String { String(decoding: try take(n), as: UTF8.self) }

    private mutating func line() throws(PickleError) -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == UInt8(ascii: "\n") { return String(decoding: out, as: UTF8.self) }
            guard out.count < 256 else { throw PickleError("a GLOBAL name longer than 256 bytes") }
            out.append(b)
        }
    }

    private func top() throws(PickleError) -> Value {
        guard let value = stack.last else { throw PickleError("memo store with an empty stack") }
        return value
    }

    private func recall(_ key: Int) throws(PickleError) -> Value {
        guard let value = memo[key] else { throw PickleError("memo \(key) read before it was written") }
        return value
    }

    private mutating func pop(_ n: Int) throws(PickleError) -> [Value] {
        guard stack.count >= n else { throw PickleError("stack underflow") }
        defer { stack.removeLast(n) }
        return Array(stack.suffix(n))
    }

    private mutating func popToMark() throws(PickleError) -> [Value] {
        guard let mark = stack.lastIndex(of: .mark) else { throw PickleError("no MARK on the stack") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[(mark + 1)...])
    }
}

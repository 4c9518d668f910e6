/// A value of Thrift's compact protocol, read without knowing the struct: Parquet's footer and
/// page headers are Thrift structs, and reading them generically lets unknown (newer) fields
/// be skipped for free. Typed views (`ParquetMetadata`) pick the field ids they need.
enum ThriftValue {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary([UInt8])
    case list([ThriftValue])
    case structure(ThriftStruct)
    case map([(ThriftValue, ThriftValue)])

    var int: Int64? { if case .int(let v) = self { v } else { nil } }
    var bool: Bool? { if case .bool(let v) = self { v } else { nil } }
    var structure: ThriftStruct? { if case .structure(let v) = self { v } else { nil } }
    var list: [ThriftValue]? { if case .list(let v) = self { v } else { nil } }
    var string: String? { if case .binary(let v) = self { String(validating: v, as: UTF8.self) } else { nil } }
}

/// A struct's fields by id.
struct ThriftStruct {
    var fields: [Int16: ThriftValue] = [:]
    subscript(id: Int16) -> ThriftValue? { fields[id] }

    func int(_ id: Int16, _ name: String) throws(ParquetFormatError) -> Int64 {
        guard let value = fields[id]?.int else { throw ParquetFormatError("field \(name) is missing") }
        return value
    }

    func structs(_ id: Int16) -> [ThriftStruct] { fields[id]?.list?.compactMap(\.structure) ?? [] }
}

/// Thrift compact protocol decoding (field headers with id deltas, zigzag varints, lists with
/// the size in the header nibble), depth-bounded so a hostile file cannot exhaust the stack.
struct ThriftCompactReader {
    var cursor: ByteCursor
    static let maxDepth = 32
    /// Lists longer than this are refused (a footer lists columns and row groups, not rows).
    static let maxListCount = 10_000_000

    init(_ cursor: ByteCursor) { self.cursor = cursor }

    mutating func readStruct(depth: Int = 0) throws(ParquetFormatError) -> ThriftStruct {
        guard depth < Self.maxDepth else { throw ParquetFormatError("Thrift structs nest deeper than \(Self.maxDepth)") }
        var result = ThriftStruct()
        var lastID: Int16 = 0
        while true {
            let header = try cursor.byte()
            let type = header & 0x0F
            if type == 0 { return result }
            let delta = Int16(header >> 4)
            if delta == 0 {
                let id = try cursor.zigzag()
                guard id >= Int64(Int16.min), id <= Int64(Int16.max) else { throw ParquetFormatError("Thrift field id \(id) out of range") }
                lastID = Int16(id)
            } else {
                lastID &+= delta
            }
            result.fields[lastID] = try readValue(type: type, depth: depth)
        }
    }

    mutating func readValue(type: UInt8, depth: Int) throws(ParquetFormatError) -> ThriftValue {
        switch type {
        case 1: return .bool(true)
        case 2: return .bool(false)
        case 3: return .int(Int64(Int8(bitPattern: try cursor.byte())))
        case 4, 5, 6: return .int(try cursor.zigzag())
        case 7: return .double(Double(bitPattern: try cursor.littleEndian(8)))
        case 8:
            let count = try ByteCursor.checkedCount(Int64(clamping: try cursor.varint()), limit: cursor.remaining, "a Thrift string length")
            return .binary(try cursor.take(count))
        case 9, 10: return .list(try readList(depth: depth))
        case 11: return .map(try readMap(depth: depth))
        case 12: return .structure(try readStruct(depth: depth + 1))
        default: throw ParquetFormatError("unknown Thrift type \(type) at byte \(cursor.offset)")
        }
    }

    private mutating func readList(depth: Int) throws(ParquetFormatError) -> [ThriftValue] {
        guard depth < Self.maxDepth else { throw ParquetFormatError("Thrift lists nest deeper than \(Self.maxDepth)") }
        let header = try cursor.byte()
        let small = Int(header >> 4)
        let count =
            small == 15
            ? try ByteCursor.checkedCount(Int64(clamping: try cursor.varint()), limit: Self.maxListCount, "a Thrift list length") : small
        let type = header & 0x0F
        var items: [ThriftValue] = []
        items.reserveCapacity(min(count, 4096))
        for _ in 0..<count {
            // Booleans in a list are one byte each (1 true, 2 false), not a type nibble.
            if type == 1 || type == 2 {
                items.append(.bool(try cursor.byte() == 1))
            } else {
                items.append(try readValue(type: type, depth: depth + 1))
            }
        }
        return items
    }

    private mutating func readMap(depth: Int) throws(ParquetFormatError) -> [(ThriftValue, ThriftValue)] {
        let count = try ByteCursor.checkedCount(Int64(clamping: try cursor.varint()), limit: Self.maxListCount, "a Thrift map size")
        guard count > 0 else { return [] }
        let types = try cursor.byte()
        var pairs: [(ThriftValue, ThriftValue)] = []
        for _ in 0..<count {
            let key = try readValue(type: types >> 4, depth: depth + 1)
            pairs.append((key, try readValue(type: types & 0x0F, depth: depth + 1)))
        }
        return pairs
    }
}

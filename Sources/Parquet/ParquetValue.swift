/// One cell of a Parquet table: a primitive, a list, or a struct's named fields in schema order.
/// Encodable, so a row is written as JSON by `JSONEncoder` (bytes that are not text as base64).
public enum ParquetValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([ParquetValue])
    case record([Field])

    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: ParquetValue
    }

    public subscript(name: String) -> ParquetValue? {
        guard case .record(let fields) = self else { return nil }
        return fields.first { $0.name == name }?.value
    }
}

extension ParquetValue: Encodable {
    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .list(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case .record(let fields):
            var container = encoder.container(keyedBy: Key.self)
            for field in fields { try container.encode(field.value, forKey: Key(stringValue: field.name)) }
        default:
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let v): try container.encode(v)
            case .int(let v): try container.encode(v)
            case .double(let v): try container.encode(v)
            case .string(let v): try container.encode(v)
            case .bytes(let v): try container.encode(Self.base64(v))
            case .list, .record: break
            }
        }
    }

    /// Standard base64 with padding (Foundation-free: this layer links without it).
    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = bytes[start..<min(start + 3, bytes.count)]
            let n = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for k in 0..<4 { out.append(k <= chunk.count ? table[Int((n >> (18 - 6 * UInt32(k))) & 63)] : UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One cell of a Parquet table: a primitive, a list, or a struct's named fields in schema order.
/// `jsonText` writes it as JSON (bytes that are not text as base64).
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
        public init(name: String, value: ParquetValue) {
            self.name = name
            self.value = value
        }
    }

    public subscript(name: String) -> ParquetValue? {
        guard case .record(let fields) = self else { return nil }
        return fields.first { $0.name == name }?.value
    }
}

extension ParquetValue {
    /// The value as JSON text, fields in schema order (so the same table always gives the same
    /// bytes, unlike an encoder that keys a dictionary): strings escaped per RFC 8259, bytes
    /// that are not text as base64, non-finite doubles as null (JSON has no NaN).
    public var jsonText: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let v): out += Array((v ? "true" : "false").utf8)
        case .int(let v): out += Array(String(v).utf8)
        case .double(let v): out += Array((v.isFinite ? "\(v)" : "null").utf8)
        case .string(let v): Self.writeString(v, into: &out)
        case .bytes(let v): Self.writeString(Self.base64(v), into: &out)
        case .list(let items):
            out.append(UInt8(ascii: "["))
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .record(let fields):
            out.append(UInt8(ascii: "{"))
            for (k, field) in fields.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(field.name, into: &out)
                out.append(UInt8(ascii: ":"))
                field.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ text: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
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

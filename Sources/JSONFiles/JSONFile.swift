import FileIO
import Foundation

/// A JSON document on disk as a `Codable` value: written atomically (pretty, keys sorted),
/// read with errors that name the file and the JSON path of the bad field.
public enum JSONFile {
    public static func read<T: Decodable>(_ type: T.Type = T.self, from path: String) throws(JSONFileError) -> T {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw JSONFileError(path: path, reason: error.reason) }
        return try decode(type, from: bytes, source: path)
    }

    public static func write<T: Encodable>(_ value: T, to path: String) throws(JSONFileError) {
        try AtomicFile.write(try encode(value, pretty: true) + "\n", to: path)
    }

    /// `value` as JSON text (one line unless `pretty`).
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws(JSONFileError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        do { return String(decoding: try encoder.encode(value), as: UTF8.self) } catch {
            throw JSONFileError(path: "(encoding \(T.self))", reason: FileIOError.describe(error))
        }
    }

    /// Decodes bytes; `source` names them in errors (a file, `file:line`, a request).
    /// Integers past 64 bits (Python writes them) are read as doubles (`LongIntegerLiterals`).
    public static func decode<T: Decodable>(_ type: T.Type = T.self, from bytes: [UInt8], source: String) throws(JSONFileError) -> T {
        let widened = LongIntegerLiterals.widened(bytes)
        do { return try JSONDecoder().decode(type, from: Data(widened)) } catch {
            // Foundation names no field when a number does not fit the one that wants a whole number.
            let note =
                widened.count == bytes.count
                ? "" : "; it holds an integer past 64 bits, read as a fraction, where a whole number may be wanted"
            throw JSONFileError(path: source, reason: FileIOError.describe(error) + note)
        }
    }

    public static func decode<T: Decodable>(_ type: T.Type = T.self, from text: some StringProtocol, source: String) throws(JSONFileError)
        -> T
    {
        try decode(type, from: Array(text.utf8), source: source)
    }
}

/// A JSON file or text that could not be read, decoded or written: the file (or source)
/// and the reason, as for any other file.
public typealias JSONFileError = FileIOError

extension FileIOError {
    /// A decoding error as "field a.b[2].c: expected a number, found text" rather than
    /// Foundation's debug dump.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else {
            if let error = error as? EncodingError, case .invalidValue(let value, let context) = error {
                return "\(fieldPath(context.codingPath)): cannot encode \(value)"
            }
            return "\(error)"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(fieldPath(context.codingPath)): expected \(typeName(type)) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "\(fieldPath(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(fieldPath(context.codingPath + [key])): missing"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            let detail = underlying ?? context.debugDescription
            return context.codingPath.isEmpty ? "not valid JSON (\(detail))" : "\(fieldPath(context.codingPath)): \(detail)"
        @unknown default:
            return "\(error)"
        }
    }

    /// `profile[2].text`; `(top level)` for the document itself.
    public static func fieldPath(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == String(index) {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out.isEmpty ? "(top level)" : out
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "text"
        case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            "\(type)".hasPrefix("Array") ? "a list" : "\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)"
        }
    }
}

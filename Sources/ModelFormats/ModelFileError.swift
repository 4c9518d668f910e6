import SafeTensors
import FileIO
import JSONFiles

/// A model file (config.json, an index, a folder) that cannot be used: which file and why.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// Reads and parses a JSON file as a tree (memory-mapped; the parser bounds depth): for
/// tokenizer.json, whose many shapes are read piece by piece with field paths in errors.
func readJSONFile(_ path: String) -> Result<JSONValue, ModelFileError> {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { return .failure(ModelFileError(path: path, reason: error.reason)) }
    do { return .success(try file.withBytes { (bytes) throws(JSONError) in try JSONValue.parse(bytes) }) } catch {
        return .failure(ModelFileError(path: path, reason: error.description))
    }
}

/// Reads a JSON file as a `Decodable` value; errors name the file and the field.
func readJSON<T: Decodable>(_ type: T.Type, _ path: String) throws(ModelFileError) -> T {
    do { return try JSONFile.read(type, from: path) } catch { throw ModelFileError(path: error.path, reason: error.reason) }
}

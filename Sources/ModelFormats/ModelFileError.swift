import SafeTensors
import FileIO

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

/// Reads and parses a JSON file (memory-mapped; the parser bounds depth).
func readJSONFile(_ path: String) -> Result<JSONValue, ModelFileError> {
    let file: MappedFile
    do { file = try MappedFile(path: path) } catch { return .failure(ModelFileError(path: path, reason: error.reason)) }
    do { return .success(try JSONValue.parse(file.bytes)) } catch { return .failure(ModelFileError(path: path, reason: error.description)) }
}

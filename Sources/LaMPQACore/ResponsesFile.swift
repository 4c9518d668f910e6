import FileIO
import JSONFiles

/// The benchmark's responses file: `{question_id: [{"output": text}, …]}`; only the first
/// element of each list counts.
public enum ResponsesFile {
    struct Output: Codable, Equatable {
        var output: String
    }

    public static func load(_ path: String) throws(LaMPQADataError) -> [String: String] {
        let document: [String: [Output]]
        do { document = try JSONFile.read(from: path) } catch {
            throw LaMPQADataError(file: path, reason: error.reason + " (expected {question_id: [{\"output\": text}]})")
        }
        var out: [String: String] = [:]
        for (id, list) in document {
            guard let first = list.first else { throw LaMPQADataError(file: path, id: id, reason: "the list is empty") }
            out[id] = first.output
        }
        return out
    }

    /// Writes responses in the benchmark's layout.
    public static func write(_ responses: [(id: String, text: String)], to path: String) throws(JSONFileError) {
        try JSONFile.write(Dictionary(responses.map { ($0.id, [Output(output: $0.text)]) }, uniquingKeysWith: { a, _ in a }), to: path)
    }
}

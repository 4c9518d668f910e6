import LaMPQA
import SafeTensors

/// The intents an IAP model inferred, written by `iap answer --method iap` next to its
/// responses (`X.intents.json` for `X.json`): {id: {"intents": [...], "valid": bool,
/// "problem": text|null}}. Read by explicit-intent answering and the intent analyses.
public enum IntentsFile {
    public static func path(forResponses responses: String) -> String {
        (responses.hasSuffix(".json") ? String(responses.dropLast(5)) : responses) + ".intents.json"
    }

    public static func write(_ answers: [GeneratedAnswer], to path: String) throws(SafeTensorsError) {
        let document = JSONValue.object(answers.map { a in
            (a.id, .object([
                ("intents", .array(a.intents.map { .string($0) })), ("valid", .bool(a.valid)), ("problem", a.problem.map { .string($0) } ?? .null),
            ]))
        })
        try AtomicFile.write(document.pretty() + "\n", to: path)
    }

    /// id → intents; errors name the file and the entry.
    public static func load(_ path: String) throws(LaMPQADataError) -> [String: [String]] {
        let document: JSONValue
        do { document = try JSONValue.parse(String(decoding: try AtomicFile.read(path), as: UTF8.self)) } catch {
            throw LaMPQADataError(file: path, reason: "\(error)")
        }
        guard let entries = document.objectValue else { throw LaMPQADataError(file: path, reason: "expected an object {id: {\"intents\": [...]}}") }
        var out: [String: [String]] = [:]
        for (id, value) in entries {
            guard let list = value["intents"]?.arrayValue else { throw LaMPQADataError(file: path, reason: "\(id): no \"intents\" list") }
            out[id] = try list.map { (item) throws(LaMPQADataError) -> String in
                guard let s = item.stringValue else { throw LaMPQADataError(file: path, reason: "\(id): intents must be strings") }
                return s
            }
        }
        return out
    }
}

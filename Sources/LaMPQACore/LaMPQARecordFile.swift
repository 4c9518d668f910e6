import FileIO
import Foundation
import JSONFiles

/// One record of a data file as the benchmark writes it, decoded on its own so that a bad
/// record is reported with its index, id and field (or skipped) without losing the others.
struct RecordSlot: Decodable {
    /// The record's id when it could be read (for messages).
    let id: String?
    let decoded: Result<RecordJSON, DecodingError>
    /// Coding-path depth of the record itself (paths in errors are taken from there).
    let depth: Int

    init(from decoder: any Decoder) throws {
        depth = decoder.codingPath.count
        id = try? decoder.container(keyedBy: IDKey.self).decode(FlexibleID.self, forKey: .id).text
        do { decoded = .success(try RecordJSON(from: decoder)) } catch let error as DecodingError { decoded = .failure(error) }
    }

    enum IDKey: String, CodingKey { case id }

    /// The records of a `.json` array or a `.jsonl` file (one record per line, blank lines skipped).
    static func read(_ path: String) throws(LaMPQADataError) -> [RecordSlot] {
        if path.hasSuffix(".jsonl") {
            let lines: [(number: Int, text: Substring)]
            do { lines = try JSONLinesFile.lines(path) } catch { throw LaMPQADataError(file: path, reason: error.reason) }
            var slots: [RecordSlot] = []
            for line in lines {
                do throws(FileIOError) {
                    slots.append(try JSONFile.decode(RecordSlot.self, from: line.text, source: "\(path):\(line.number)"))
                } catch {
                    throw LaMPQADataError(file: error.path, reason: error.reason)
                }
            }
            return slots
        }
        do { return try JSONFile.read([RecordSlot].self, from: path) } catch {
            let layout = error.reason.hasPrefix("(top level)") ? "expected a JSON array of records (the benchmark's layout)" : error.reason
            throw LaMPQADataError(file: path, reason: layout)
        }
    }

    /// The record, checked: a non-empty question and at least one named rubric aspect.
    func record(index: Int, file: String, domain: LaMPQADomain) throws(LaMPQADataError) -> LaMPQARecord {
        func fail(_ field: String, _ reason: String) -> LaMPQADataError {
            LaMPQADataError(file: file, record: index, id: id, field: field, reason: reason)
        }
        let r: RecordJSON
        switch decoded {
        case .success(let value): r = value
        case .failure(let error): throw failure(error, fail)
        }
        guard let id, !id.isEmpty else { throw fail("id", "missing or not a non-empty string") }
        guard !r.question.allSatisfy(\.isWhitespace) else { throw fail("question", "is empty") }
        guard !r.rubricAspects.isEmpty else { throw fail("rubric_aspects", "is empty: a question needs at least one aspect to be scored") }
        for (k, a) in r.rubricAspects.enumerated() where a.aspect.allSatisfy(\.isWhitespace) {
            throw fail("rubric_aspects[\(k)].aspect", "is empty")
        }
        for (k, p) in (r.profile ?? []).enumerated() where p.text.allSatisfy(\.isWhitespace) {
            throw fail("profile[\(k)].text", "is empty")
        }
        return LaMPQARecord(
            id: id, domain: domain, question: r.question, narrative: r.narrative ?? "", category: r.category ?? "",
            profile: (r.profile ?? []).map { ProfilePost(id: $0.id?.text ?? "", category: $0.category ?? "", text: $0.text) },
            aspects: r.rubricAspects.map { RubricAspect(aspect: $0.aspect, reason: $0.reason ?? "", evidence: $0.evidence ?? "") })
    }

    /// A decoding error as the field it concerns and what is wrong with it.
    func failure(_ error: DecodingError, _ fail: (String, String) -> LaMPQADataError) -> LaMPQADataError {
        func field(_ path: [any CodingKey]) -> String { FileIOError.fieldPath(Array(path.dropFirst(depth))) }
        switch error {
        case .keyNotFound(let key, let context): return fail(field(context.codingPath + [key]), "missing")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let what = "\(type)".hasPrefix("Array") ? "an array" : type == String.self || type == FlexibleID.self ? "a string" : "an object"
            return fail(field(context.codingPath), "must be \(what)")
        case .dataCorrupted(let context): return fail(field(context.codingPath), context.debugDescription)
        @unknown default: return fail("(record)", "\(error)")
        }
    }
}

/// The benchmark's record keys.
struct RecordJSON: Decodable {
    struct Post: Decodable {
        var id: FlexibleID?
        var category: String?
        var text: String
    }
    struct Aspect: Decodable {
        var aspect: String
        var reason: String?
        var evidence: String?
    }
    var question: String
    var narrative: String?
    var category: String?
    var profile: [Post]?
    var rubricAspects: [Aspect]

    enum CodingKeys: String, CodingKey {
        case question, narrative, category, profile
        case rubricAspects = "rubric_aspects"
    }
}

/// An id written as text or as a number.
struct FlexibleID: Decodable {
    let text: String
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let number = try? c.decode(Int.self) { text = String(number) } else { text = try c.decode(String.self) }
    }
}

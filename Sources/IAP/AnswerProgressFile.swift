import IAPCore
import FileIO
import JSONFiles
import Transformers

/// The answers of a long `iap answer` run kept as they are made: one JSON line per finished
/// batch beside the output (`OUT.partial.jsonl`), headed by the command's settings. A run
/// that is stopped keeps them; the same command run again continues after them, and the
/// result equals an uninterrupted run's (each batch's seed depends only on its position).
/// A file left by different settings is an error, never mixed in.
public struct AnswerProgressFile {
    public let path: String
    /// What makes answers comparable: model, method, data, split, decoding, batch size.
    public let settings: String

    public init(output: String, settings: String) {
        path = output + ".partial.jsonl"
        self.settings = settings
    }

    /// One line: the header (`settings`) or a finished batch.
    struct Entry: Codable {
        var settings: String?
        var start: Int?
        var answers: [Answer]?
    }

    struct Answer: Codable {
        var id: String
        var reply: String
        var response: String
        var intents: [String]
        var valid: Bool
        var problem: String?
        var degeneration: Degeneration?
        var finishReason: String
    }

    /// Finished batches by their first record's index (none when there is no file yet).
    public func finished() throws(JSONFileError) -> [Int: [GeneratedAnswer]] {
        guard FileSystem.exists(path) else { return [:] }
        let entries = try JSONLines.read(Entry.self, from: path).records
        guard let header = entries.first?.settings else { return [:] }
        guard header == settings else {
            throw JSONFileError(
                path: path, reason: "left by a run with other settings (\(header)); remove it, or repeat that command to finish it")
        }
        var batches: [Int: [GeneratedAnswer]] = [:]
        for entry in entries.dropFirst() {
            guard let start = entry.start, let answers = entry.answers else { continue }
            batches[start] = answers.map { a in
                GeneratedAnswer(
                    id: a.id, reply: a.reply, response: a.response, intents: a.intents, valid: a.valid, problem: a.problem,
                    degeneration: a.degeneration, promptIds: [], replyIds: [],
                    finishReason: GeneratedSequence.FinishReason(rawValue: a.finishReason) ?? .length)
            }
        }
        return batches
    }

    /// Records a finished batch (the header first, when the file is new).
    public func append(start: Int, _ answers: [GeneratedAnswer]) throws(JSONFileError) {
        if !FileSystem.exists(path) {
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                do { try FileSystem.makeDirectories(String(path[..<slash])) } catch {
                    throw JSONFileError(path: path, reason: error.reason)
                }
            }
            try JSONLines.append(Entry(settings: settings), to: path)
        }
        let lines = answers.map { a in
            Answer(
                id: a.id, reply: a.reply, response: a.response, intents: a.intents, valid: a.valid, problem: a.problem,
                degeneration: a.degeneration, finishReason: a.finishReason.rawValue)
        }
        try JSONLines.append(Entry(start: start, answers: lines), to: path)
    }

    /// Once the output is written.
    public func remove() { FileSystem.removeFile(path) }
}

import FileIO
import IAPCore
import LaMPQACore

/// `iap answer`'s job: a model answers a split's questions into the benchmark's responses file
/// and — for IAP — the inferred intents beside it (`IntentsFile.path(forResponses:)`).
/// Finished batches are kept beside the output as they come (`AnswerProgressFile`), so a
/// stopped run loses at most one batch and the same command continues after the rest.
public struct AnsweringRun {
    public var generator: AnswerGenerator
    public var records: [LaMPQARecord]
    /// Explicit-intent answering: the intents each question is answered with.
    public var intents: [String: [String]]?
    /// The responses file to write.
    public var out: String
    /// What the answers depend on (model, method, data, decoding, batch): a kept partial file
    /// made with other settings is an error, never mixed in.
    public var settings: String

    public init(generator: AnswerGenerator, records: [LaMPQARecord], intents: [String: [String]]?, out: String, settings: String) {
        self.generator = generator
        self.records = records
        self.intents = intents
        self.out = out
        self.settings = settings
    }

    /// What a run wrote.
    public struct Outcome {
        public var answers: [GeneratedAnswer]
        /// IAP: how many replies had the tagged format, and what went wrong in the others.
        public var format: ReplyFormatSummary?
    }

    /// Answers every question not answered before, writes the files and removes the kept
    /// batches. `note` hears that an earlier run is continued and how far answering is.
    public func run(note: (String) -> Void) throws -> Outcome {
        let kept = AnswerProgressFile(output: out, settings: settings)
        let finished = try kept.finished()
        if !finished.isEmpty { note("\(kept.path): continuing after \(finished.values.map(\.count).reduce(0, +)) answers made before") }
        let answers = try generator.answer(
            records, intents: intents, finished: finished, batchDone: { start, batch in try kept.append(start: start, batch) }
        ) { done, total in note("\(done)/\(total) questions answered") }
        try ResponsesFile.write(answers.map { ($0.id, $0.response) }, to: out)
        var format: ReplyFormatSummary?
        if case .iap = generator.method {
            let inferred = answers.map {
                ($0.id, InferredIntents(intents: $0.intents, valid: $0.valid, problem: $0.problem, degeneration: $0.degeneration))
            }
            try IntentsFile.write(Dictionary(inferred, uniquingKeysWith: { a, _ in a }), to: IntentsFile.path(forResponses: out))
            format = ReplyFormatSummary(inferred.map(\.1))
        }
        kept.remove()
        return Outcome(answers: answers, format: format)
    }
}

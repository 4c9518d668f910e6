import FileIO
import IAPCore
import LaMPQACore

/// The paper's Table 2 as a pipeline over one folder: a trained model answers every question
/// under each intent condition (`<condition>.responses.json`, kept: a rerun answers only the
/// conditions still missing), each condition is scored into `<condition>/`, and the drop from
/// the selected intent is tabulated in `intent-ablation.{md,csv,json}`.
public struct IntentAblationRun: Sendable {
    public var dataset: LaMPQADataset
    /// The model's own intents per question id (the .intents.json of `iap answer --method iap`).
    public var intents: [String: [String]]
    public var conditions: [IntentCondition]
    public var folder: String

    public init(dataset: LaMPQADataset, intents: [String: [String]], conditions: [IntentCondition], folder: String) {
        self.dataset = dataset
        self.intents = intents
        self.conditions = conditions
        self.folder = folder
    }

    /// How random intents are drawn for this data (category where every record has one).
    public var grouping: IntentGrouping { IntentGrouping.choose(dataset.records) }

    public func responsesPath(_ condition: IntentCondition) -> String { "\(folder)/\(condition.rawValue).responses.json" }

    /// Questions with an entry in the intents file, and those whose entry is not empty.
    public var coverage: (covered: Int, nonEmpty: Int) {
        (dataset.records.filter { intents[$0.id] != nil }.count, dataset.records.filter { !(intents[$0.id] ?? []).isEmpty }.count)
    }

    /// The conditions not answered yet.
    public var pending: [IntentCondition] { conditions.filter { !FileSystem.exists(responsesPath($0)) } }

    /// Answers the pending conditions with `generator` (its method is set to explicit intent,
    /// its prompt to the no-intent one where no intents are given); `seed` fixes the random
    /// draws. Synchronous: generation closures inside async bodies crashed Swift 6.3's optimiser.
    public func answer(with generator: AnswerGenerator, seed: UInt64, progress: (IntentCondition, Int, Int) -> Void) throws {
        try FileSystem.makeDirectories(folder)
        for condition in pending {
            let assigned = condition.assignments(records: dataset.records, intents: intents, seed: seed, grouping: grouping)
            var g = generator
            g.method = .baseline(.explicitIntent)
            g.prompt = assigned == nil ? IntentCondition.noIntentPrompt : AnsweringMethod.baseline(.explicitIntent).defaultPrompt
            let answers = try g.answer(dataset.records, intents: assigned, progress: { done, total in progress(condition, done, total) })
            try ResponsesFile.write(answers.map { ($0.id, $0.response) }, to: responsesPath(condition))
        }
    }

    /// Scores every condition (answered before) and writes the table; the selected intent is
    /// the reference row (the last condition when it is not run).
    public func score(
        with evaluator: Evaluator, progress: (@Sendable (IntentCondition, EvaluationProgress) -> Void)? = nil
    ) async throws -> DeltaTable {
        var results: [MethodResult] = []
        for condition in conditions {
            let answers = try ResponsesFile.load(responsesPath(condition))
            let scores = EvaluationFolder(path: "\(folder)/\(condition.rawValue)")
            var perItem: (@Sendable (EvaluationProgress) -> Void)?
            if let progress { perItem = { p in progress(condition, p) } }
            _ = try await scores.evaluate(
                answers, responses: responsesPath(condition), dataset: dataset, evaluator: evaluator, progress: perItem)
            results.append(try scores.methodResult(name: condition.title))
        }
        let table = DeltaTable(results, reference: conditions.firstIndex(of: .selected) ?? conditions.count - 1)
        try AtomicFile.write(table.markdown + "\n\n" + grouping.note + "\n", to: folder + "/intent-ablation.md")
        try AtomicFile.write(table.csv + "\n", to: folder + "/intent-ablation.csv")
        try AtomicFile.write(table.json + "\n", to: folder + "/intent-ablation.json")
        return table
    }
}

import FileIO
import Foundation
import JSONFiles
import LaMPQACore
import Testing

@testable import IAPCore

/// Run folders and evaluation folders written by the release before the typed data layer
/// (Tests/Fixtures/legacy, see its README) still load, every record of them.
@Suite struct LegacyFilesTests {
    static let folder = repositoryRoot.appendingPathComponent("Tests/Fixtures/legacy").path

    @Test func trainingRunFolder() throws {
        let run = try RunFolder(path: Self.folder + "/run")
        #expect(run.checkpointSteps() == [1])
        let config = try ConfigLoader.load(file: run.configPath)
        #expect(config.run.steps == 1 && config.rollout.groupSize == 2 && config.reward.malformed == .judgedMinus(penalty: 1))
        #expect(config.data.domains == [.artAndEntertainment] && config.reward.similarityLayer == 6 && config.dapo.dualClip == nil)
        let metrics = try JSONLines.read(MetricsLine.self, from: run.metricsPath)
        try #require(metrics.records.count == 1 && metrics.skipped.isEmpty)
        #expect(metrics.records[0].step == 1 && metrics.records[0].values.count == 29)
        #expect(metrics.records[0]["reward/mean"] != nil && metrics.records[0]["update/learned_tokens"] == 32)
        let rollouts = try JSONLines.read(RolloutRecord.self, from: run.rolloutsPath)
        #expect(rollouts.records.count == 2 && rollouts.skipped.isEmpty, "\(rollouts.skipped)")
        let references = try JSONLines.read(ReferenceAnswer.self, from: run.referencePath)
        #expect(references.records.count == 1 && references.skipped.isEmpty && !references.records[0].text.isEmpty)
        let state = try JSONFile.read(TrainerState.self, from: run.checkpointPath(step: 1) + "/" + TrainerState.fileName)
        #expect(state == TrainerState(step: 1, cursor: 1, epoch: 0, seed: 0, optimizerStep: 1))
    }

    @Test func sftRunFolder() throws {
        let run = try RunFolder(path: Self.folder + "/sft")
        let config = try ConfigLoader.load(file: run.configPath)
        #expect(config.sft.samples == 2 && config.sft.method == .direct)
        let labels = try JSONLines.read(SilverLabel.self, from: run.labelsPath)
        try #require(labels.records.count == 1 && labels.skipped.isEmpty)
        #expect(labels.records[0].candidateScores.count == 2 && !labels.records[0].promptIds.isEmpty)
        let metrics = try JSONLines.read(MetricsLine.self, from: run.metricsPath).records
        try #require(metrics.count == 1)
        #expect(metrics[0].values.count == 9 && metrics[0]["sft/loss"] != nil)
        let state = try JSONFile.read(TrainerState.self, from: run.checkpointPath(step: 1) + "/" + TrainerState.fileName)
        #expect(state.step == 1 && state.cursor == nil)
    }

    @Test func evaluationFolderResponsesAndIntents() throws {
        let evaluation = EvaluationFolder(path: Self.folder + "/evaluation")
        let summary = try evaluation.summary()
        #expect(summary.questions == 3 && summary.judgeIsProxy && summary.domains.count == 3 && summary.failedItems.isEmpty)
        let result = try evaluation.methodResult()
        #expect(result.scores.count == 3 && result.scores.values.allSatisfy { $0.count == 1 })
        let responses = try ResponsesFile.load(Self.folder + "/legacy.responses.json")
        let intents = try IntentsFile.load(Self.folder + "/legacy.responses.intents.json")
        #expect(responses.count == 3 && Set(intents.keys) == Set(responses.keys))
        #expect(Set(result.scores.values.flatMap(\.keys)) == Set(responses.keys))
    }

    @Test func reportReadsThem() throws {
        var report = HTMLReport()
        for name in ["run", "sft", "evaluation"] { report.inputs.append(try HTMLReport.classify(Self.folder + "/" + name)) }
        let html = try report.render()
        #expect(html.contains("id=\"table-rollouts-0\"") && html.contains("id=\"table-labels-1\"") && html.contains("id=\"table-results\""))
    }
}

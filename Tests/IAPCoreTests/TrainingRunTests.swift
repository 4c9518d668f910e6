import FileIO
import Foundation
import JSONFiles
import Testing

@testable import IAPCore

/// A trainer without a model: steps count up, a checkpoint is a folder with trainer_state.json.
final class CountingTrainer: CheckpointedTrainer {
    let run: RunFolder
    var step = 0
    let totalSteps: Int
    var restoredFrom: String?

    init(run: RunFolder, totalSteps: Int) {
        self.run = run
        self.totalSteps = totalSteps
    }

    func prepare() async throws {}

    func trainStep() async throws -> MetricsLine {
        step += 1
        return MetricsLine(step: step, values: [])
    }

    func saveCheckpoint() throws {
        let folder = run.checkpointPath(step: step)
        try AtomicFolder.replace(folder) { temporary in
            try JSONFile.write(TrainerState(step: step, seed: 0, optimizerStep: step), to: temporary + "/" + TrainerState.fileName)
        }
    }

    func restore(from folder: String) throws {
        step = try JSONFile.read(TrainerState.self, from: folder + "/" + TrainerState.fileName).step
        restoredFrom = folder
    }
}

@Suite struct TrainingRunTests {
    func scratchRun() throws -> RunFolder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("iap-run-\(UUID().uuidString)").path
        return try RunFolder(path: path)
    }

    /// `--resume` on a run whose checkpoint lost trainer_state.json refuses, naming it, and
    /// leaves the checkpoint and metrics as they were (it used to start over at step 0).
    @Test func resumeNeverDestroysACheckpoint() async throws {
        let run = try scratchRun()
        defer { FileSystem.removeFolder(run.path) }
        var config = TrainConfig()
        config.run.checkpointEvery = 2
        try await TrainingRun(trainer: CountingTrainer(run: run, totalSteps: 2), config: config, run: run).drive(resuming: false)
        #expect(run.checkpointSteps() == [2])
        try AtomicFile.write(#"{"step": 1}"# + "\n" + #"{"step": 2}"# + "\n", to: run.metricsPath)
        FileSystem.removeFile(run.checkpointPath(step: 2) + "/" + TrainerState.fileName)
        let resumed = TrainingRun(trainer: CountingTrainer(run: run, totalSteps: 4), config: config, run: run)
        await #expect { try await resumed.drive(resuming: true) } throws: {
            "\($0)".contains("step-000002") && "\($0)".contains(TrainerState.fileName)
        }
        #expect(FileSystem.isFolder(run.checkpointPath(step: 2)))
        #expect(try AtomicFile.readText(run.metricsPath).contains(#"{"step": 2}"#), "metrics kept")
    }

    /// A save killed half-way is cleaned up when the run next starts; a checkpoint moved aside
    /// by a save that died between its renames is put back and resumed from.
    @Test func leftoversOfAnInterruptedSaveAreRecovered() async throws {
        let run = try scratchRun()
        defer { FileSystem.removeFolder(run.path) }
        var config = TrainConfig()
        config.run.checkpointEvery = 2
        try await TrainingRun(trainer: CountingTrainer(run: run, totalSteps: 2), config: config, run: run).drive(resuming: false)
        let dead = 4_194_305  // above Linux's largest pid
        let moved = run.checkpointPath(step: 2) + ".previous-\(dead)"
        #expect(rename(run.checkpointPath(step: 2), moved) == 0)
        try FileSystem.makeDirectories(run.checkpointPath(step: 4) + ".partial-\(dead)")
        let trainer = CountingTrainer(run: run, totalSteps: 4)
        var cleaned: [String] = []
        var driver = TrainingRun(trainer: trainer, config: config, run: run)
        driver.report = { if case .cleanedUp(let line) = $0 { cleaned.append(line) } }
        try await driver.drive(resuming: true)
        #expect(cleaned.count == 2, "\(cleaned)")
        #expect(trainer.restoredFrom == run.checkpointPath(step: 2))
        #expect(run.checkpointSteps() == [2, 4] || run.checkpointSteps() == [4])
        #expect(!FileSystem.list(run.checkpointsPath).contains { $0.contains(".partial-") || $0.contains(".previous-") })
    }

    /// Counts in trainer_state.json are checked when it is read: a negative one names the file
    /// and the field instead of becoming an index.
    @Test func negativeCountsInTrainerStateAreRefused() throws {
        for (json, field) in [
            (#"{"step": -1, "seed": 0, "optimizer_step": 0}"#, "step"),
            (#"{"step": 3, "cursor": -5, "epoch": 0, "seed": 0, "optimizer_step": 3}"#, "cursor"),
        ] {
            #expect { try JSONFile.decode(TrainerState.self, from: json, source: "ckpt/trainer_state.json") } throws: {
                "\($0)".contains("ckpt/trainer_state.json") && "\($0)".contains(field) && "\($0)".contains("must be 0 or more")
            }
        }
        #expect(try JSONFile.decode(TrainerState.self, from: #"{"step": 3, "seed": 0}"#, source: "old").optimizerStep == 3)
    }
}

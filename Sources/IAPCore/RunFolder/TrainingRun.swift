import FileIO
import JSONFiles

/// Drives a trainer through a run folder: restores the last checkpoint when resuming,
/// prepares, steps to the end saving every `run.checkpoint_every` steps and at the end,
/// stops cleanly (with a checkpoint) when asked, and points `final` at the last checkpoint.
/// Shared by `iap train` and `iap sft`; what it prints goes through `report`.
public struct TrainingRun {
    public enum Event {
        case resumed(step: Int)
        case startedOver
        case stepped(MetricsLine, secondsPerStep: Double, secondsLeft: Double)
        case stoppedEarly(atStep: Int)
        case finished(checkpoint: String)
        /// A leftover of an interrupted save, removed or put back.
        case cleanedUp(String)
    }

    public let trainer: CheckpointedTrainer
    public let config: TrainConfig
    public let run: RunFolder
    /// Asked after every step (and before the first): true stops after saving a checkpoint.
    public var shouldStop: () -> Bool = { false }
    public var report: (Event) -> Void = { _ in }

    public init(trainer: CheckpointedTrainer, config: TrainConfig, run: RunFolder) {
        self.trainer = trainer
        self.config = config
        self.run = run
    }

    /// A new run's folder: refuses one that already holds a run, writes config.yaml.
    public static func start(config: TrainConfig, folder: String) throws -> RunFolder {
        let run = try RunFolder.claim(path: folder)
        guard run.checkpointSteps().isEmpty && !FileSystem.exists(run.metricsPath) else {
            throw ConfigError(
                "\(folder) already holds a run: continue it with --resume \(ShellQuoting.quoted(folder)), or choose another --run-dir")
        }
        try AtomicFile.write(ConfigLoader.yaml(config), to: run.configPath)
        return run
    }

    /// Runs the job to its end (or a stop); on several ranks, an error from a broken
    /// collective comes back naming the ranks that are gone and the step.
    public func drive(resuming: Bool) async throws {
        do { try await driveSteps(resuming: resuming) } catch { throw trainer.ranks.explained(error, step: trainer.step + 1) }
    }

    func driveSteps(resuming: Bool) async throws {
        if trainer.ranks.isMain {
            for line in AtomicFolder.recoverStale(in: run.checkpointsPath) { report(.cleanedUp(line)) }
        }
        try trainer.ranks.barrier()
        if resuming { try resume() }
        try await trainer.prepare()
        if shouldStop() { return report(.stoppedEarly(atStep: trainer.step)) }
        let started = ContinuousClock.now
        let firstStep = trainer.step
        while trainer.step < trainer.totalSteps {
            let line: MetricsLine
            do { line = try await trainer.trainStep() } catch { throw TrainingStepError(step: trainer.step + 1, underlying: error) }
            let perStep = seconds(since: started) / Double(trainer.step - firstStep)
            report(.stepped(line, secondsPerStep: perStep, secondsLeft: perStep * Double(trainer.totalSteps - trainer.step)))
            // A stop asked of any rank (Ctrl-C reaches them all, not always at the same step)
            // stops every rank after the same step.
            let stopping = try trainer.ranks.sum([shouldStop() ? 1 : 0])[0] > 0
            if trainer.step % config.run.checkpointEvery == 0 || trainer.step == trainer.totalSteps || stopping { try save() }
            if stopping { return report(.stoppedEarly(atStep: trainer.step)) }
        }
        if trainer.step > 0 && run.checkpointSteps().last != trainer.step { try save() }
        let checkpoint = run.checkpointPath(step: trainer.step)
        if trainer.ranks.isMain {
            try FileSystem.replaceLink(
                run.finalPath, target: "checkpoints/" + (checkpoint.split(separator: "/").last.map(String.init) ?? ""))
        }
        try trainer.ranks.barrier()
        report(.finished(checkpoint: checkpoint))
    }

    /// Every rank saves (rank 0 writes the folder; under `zero2` each rank its optimizer
    /// shard first) and waits for the others, so none runs ahead of the last checkpoint.
    func save() throws {
        try trainer.saveCheckpoint()
        try trainer.ranks.barrier()
    }

    /// The last complete checkpoint, or — when the run stopped before its first one — a
    /// fresh start in the same folder keeping what is reusable (labels, reference answers).
    func resume() throws {
        if let last = run.checkpointSteps().last {
            try trainer.restore(from: run.checkpointPath(step: last))
            return report(.resumed(step: last))
        }
        let broken = run.incompleteCheckpoints()
        guard broken.isEmpty else {
            throw ConfigError(
                "\(run.path): checkpoint folder(s) \(broken.joined(separator: ", ")) lack \(TrainerState.fileName); "
                    + "refusing to start over and overwrite them (move them aside to start at step 0)")
        }
        if trainer.ranks.isMain {
            try RunFolder.truncate(run.metricsPath, afterStep: 0)
            try RunFolder.truncate(run.rolloutsPath, afterStep: 0)
        }
        report(.startedOver)
    }
}

/// A failure inside training step `step` (what resuming, preparing or saving throw is not
/// one: it names its own file or phase, and a "step N:" before it would mislead).
public struct TrainingStepError: Error, CustomStringConvertible {
    public let step: Int
    public let underlying: any Error
    public var description: String { "step \(step): \(underlying)" }
}

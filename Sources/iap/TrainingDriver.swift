import ArgumentParser
import CommandSupport
import FileIO
import IAP
import IAPCore
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT: finish the current step, save a checkpoint, stop.
nonisolated(unsafe) var trainingStopRequested: sig_atomic_t = 0

/// What `iap train` and `iap sft` share once the job is open: Ctrl-C handling, the step loop
/// with progress and ETA, checkpoints, and the `final` link (`TrainingRun`).
enum TrainingDriver {
    /// Whether this process should stop after the current step (Ctrl-C, or its launcher gone).
    @Sendable static func shouldStop() -> Bool { trainingStopRequested != 0 || RankLauncher.launcherIsGone }

    /// Runs the trainer to the end (or until Ctrl-C, which saves a checkpoint first),
    /// printing progress; `summary` picks the figures shown per step.
    static func drive(_ trainer: CheckpointedTrainer, job: TrainingJob, summary: @escaping (MetricsLine) -> String) async throws {
        signal(SIGINT) { _ in
            if trainingStopRequested != 0 { _exit(130) }
            trainingStopRequested = 1
            let message: StaticString = "\nstopping after this step (a checkpoint will be saved); Ctrl-C again to quit at once\n"
            _ = Glibc.write(2, message.utf8Start, message.utf8CodeUnitCount)
        }
        var driver = TrainingRun(trainer: trainer, config: job.config, run: job.run)
        driver.shouldStop = shouldStop
        let parallel = job.parallel
        let report = progressReport(
            total: trainer.totalSteps, folder: job.folderPath, command: job.request.trainer.command, summary: summary)
        driver.report = { event in if parallel.isMain { report(event) } }  // one progress report per job
        do { try await driver.drive(resuming: job.resuming) } catch let code as ExitCode { throw code } catch {
            // A broken collective already names the rank, the step and the ranks gone.
            let rank = parallel.worldSize > 1 && !(error is CollectiveFailure) ? "rank \(parallel.rank) of \(parallel.worldSize), " : ""
            throw CLI.failure(rank + "\(error)")
        }
        // Stopped by Ctrl-C (after saving): not a finished run, so `iap train && …` stops too.
        if trainingStopRequested != 0 { throw ExitCode(130) }
    }

    /// The lines a run's events print.
    static func progressReport(total: Int, folder: String, command: String, summary: @escaping (MetricsLine) -> String) -> (
        TrainingRun.Event
    ) -> Void {
        { event in
            switch event {
            case .resumed(let step): CLI.note("resumed \(folder) at step \(step)")
            case .startedOver:
                CLI.note("\(folder) has no checkpoint yet: starting at step 0 (labels and reference answers already there are kept)")
            case .stepped(let line, let perStep, let left):
                CLI.note("step \(line.step)/\(total)  \(summary(line))  \(Int(perStep))s/step  ETA \(Int(left))s")
            case .stoppedEarly(let step):
                let resume = "continue with: iap \(command) --resume \(ShellQuoting.quoted(folder))"
                CLI.note(step == 0 ? "stopped before the first step; \(resume)" : "stopped at step \(step); \(resume)")
            case .cleanedUp(let what): CLI.note(what)
            case .finished(let checkpoint):
                print("run folder: \(folder)")
                print("final checkpoint: \(checkpoint) (also \(folder)/final)")
            }
        }
    }

    /// One figure of a metrics line, as the progress lines show it.
    static func value(_ line: MetricsLine, _ key: String) -> String { line[key].map { formatScore($0) } ?? "-" }
}

import Foundation
import Testing

/// Issue 29: a run folder has one writer. While `iap train` writes it (its judge never answers,
/// so it cannot finish), a second `iap train` into it and a `--resume` of it are
/// refused naming the writer's PID; nothing of theirs lands in the folder. That the lock ends
/// with its holder is FolderLockTests' part.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RunFolderLockTests: RunsIAP {
    static let settings = [
        "--config", "configs/demo-cpu.yaml", "--set", "run.steps=1", "--set", "rollout.questions_per_step=1",
        "--set", "rollout.group_size=2", "--set", "rollout.block_budgets=[4, 6, 4, 8]", "--set", "rollout.max_new_tokens=32",
        "--set", "rollout.reference_max_new_tokens=8", "--set", "data.input=question",
    ]

    @Test func aLiveRunRefusesASecondWriter() throws {
        guard binaryIsBuilt else { return }
        let run = scratch("locked-run")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let judge = try SilentServer()
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: binary)
        writer.arguments = ["train"] + Self.settings + judge.judgeSettings + ["--run-dir", run]
        writer.currentDirectoryURL = repository
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        defer {
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
        }
        // The lock (with the writer's PID) and config.yaml come before the models load.
        try #require(Self.waitForLock(in: run, holder: writer.processIdentifier, seconds: 120), "the first run never took its lock")
        let config = try String(contentsOfFile: run + "/config.yaml", encoding: .utf8)
        let holder = "in use by process \(writer.processIdentifier)"

        let second = try iap(["train"] + Self.settings + ["--run-dir", run, "--set", "run.seed=7"])
        #expect(second.status == 1)
        #expect(second.errors.contains(holder), "\(second.errors)")
        let resumed = try iap(["train", "--resume", run])
        #expect(resumed.status == 1)
        #expect(resumed.errors.contains(holder), "\(resumed.errors)")
        #expect(try String(contentsOfFile: run + "/config.yaml", encoding: .utf8) == config, "the refused run wrote config.yaml")
        #expect(!FileManager.default.fileExists(atPath: run + "/metrics.jsonl"))
    }

    /// True once `run/.lock` names `holder` and config.yaml is written (within `seconds`).
    static func waitForLock(in run: String, holder: Int32, seconds: Int) -> Bool {
        for _ in 0..<(seconds * 10) {
            let pid = try? String(contentsOfFile: run + "/.lock", encoding: .utf8)
            if pid == "\(holder)\n" && FileManager.default.fileExists(atPath: run + "/config.yaml") { return true }
            usleep(100_000)
        }
        return false
    }
}

import Foundation
import Testing

/// Data-parallel training through the command line (issue 17): `iap train --nproc-per-node 2`
/// over Gloo on 127.0.0.1 makes the same steps as one process over the same global batch;
/// Ctrl-C stops both ranks with a checkpoint that one process resumes; a rank that dies
/// stops the job, and the launcher names it.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DataParallelTests: RunsIAP {
    /// Two questions of two rollouts a step, tiny blocks: one question per rank.
    static let settings = [
        "--config", "configs/demo-cpu.yaml", "--set", "run.steps=2", "--set", "run.checkpoint_every=1", "--set", "optim.lr=1e-2",
        "--set", "rollout.questions_per_step=2", "--set", "rollout.group_size=2", "--set", "rollout.block_budgets=[4, 6, 4, 8]",
        "--set", "rollout.max_new_tokens=32", "--set", "rollout.reference_max_new_tokens=8", "--set", "data.input=question",
        "--set", "policy.gradient_checkpointing=false", "--set", "dist.timeout_s=120",
    ]

    static func metrics(_ run: String) throws -> [[String: Double]] {
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return object.compactMapValues { $0 as? Double }
        }
    }

    @Test func twoRanksStepAsOneProcessAndOneProcessResumesThem() throws {
        let single = scratch("dp-single")
        let pair = scratch("dp-pair")
        defer {
            try? FileManager.default.removeItem(atPath: single)
            try? FileManager.default.removeItem(atPath: pair)
        }
        try succeed(["train"] + Self.settings + ["--run-dir", single])
        // Two ranks, stopped by Ctrl-C after the first step (the launcher passes it on) …
        let stopped = try iap(["train"] + Self.settings + ["--run-dir", pair, "--nproc-per-node", "2"], interruptWhen: "step 1/2")
        #expect(stopped.status == 130, "\(stopped.errors.suffix(1500))")
        #expect(FileManager.default.fileExists(atPath: pair + "/checkpoints/step-000001/trainer_state.json"))
        // … and one process finishes the run from their checkpoint.
        try succeed(["train", "--resume", pair])
        let (a, b) = (try Self.metrics(single), try Self.metrics(pair))
        #expect(a.count == 2 && b.count == 2)
        for (x, y) in zip(a, b) {
            for (key, value) in x where !key.hasPrefix("time/") {
                let other = y[key] ?? .nan
                #expect(abs(value - other) <= 1e-6 * max(1, abs(value)), "step \(x["step"] ?? 0) \(key): \(value) vs \(other)")
            }
        }
        #expect(a[0]["policy/grad_norm"] ?? 0 > 0)
        let weights = { (run: String) in FileManager.default.contents(atPath: run + "/final/model.safetensors") }
        #expect(weights(single) != nil && weights(single) == weights(pair))
        let references = { (run: String) in FileManager.default.contents(atPath: run + "/reference-answers.jsonl") }
        #expect(references(single) == references(pair))
    }

    @Test func aRankThatDiesStopsTheJobAndIsNamed() throws {
        let run = scratch("dp-kill")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["train"] + Self.settings + ["--run-dir", run, "--nproc-per-node", "2", "--set", "run.steps=20"]
        process.currentDirectoryURL = repository
        let errors = scratch("dp-kill-err")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errors) }
        process.standardError = FileHandle(forWritingAtPath: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Once the first step's checkpoint is saved, kill rank 1 (the child whose RANK is 1).
        let saved = run + "/checkpoints/step-000001/trainer_state.json"
        while process.isRunning, !FileManager.default.fileExists(atPath: saved) { Thread.sleep(forTimeInterval: 0.2) }
        // The launcher's children, whichever of its threads started them.
        let tasks = "/proc/\(process.processIdentifier)/task"
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).compactMap {
            try? String(contentsOfFile: "\(tasks)/\($0)/children", encoding: .utf8)
        }.joined(separator: " ")
        let rankOne = children.split(separator: " ").compactMap { Int32($0) }.first { pid in
            let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data()
            return environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "RANK=1" }
        }
        let victim = try #require(rankOne, "no rank 1 among \(children)")
        let killed = Date()
        kill(victim, SIGKILL)
        process.waitUntilExit()
        let said = String(decoding: FileManager.default.contents(atPath: errors) ?? Data(), as: UTF8.self)
        #expect(process.terminationStatus == 128 + 9, "\(said.suffix(1500))")
        #expect(said.contains("rank 1 was killed by signal 9"), "\(said.suffix(1500))")
        #expect(Date().timeIntervalSince(killed) < 60)
        // The last checkpoint is still there, whole (checkpoints are written aside and renamed).
        #expect(FileManager.default.fileExists(atPath: saved))
        #expect(FileManager.default.fileExists(atPath: run + "/checkpoints/step-000001/model.safetensors"))
    }
}

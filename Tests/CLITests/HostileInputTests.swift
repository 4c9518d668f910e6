import Foundation
import Testing

/// Bad input and faults through the `iap` binary, as a user meets them: each case ends in a
/// clear error (exit 1 naming the culprit), a warning, or an exit status that stops a
/// script — never a crash, a made-up result or lost work.
@Suite(.serialized, .timeLimit(.minutes(20))) struct HostileInputTests: RunsIAP {
    /// A responses file for the first test question of each domain of the bundled sample.
    func responses(at path: String) throws {
        var entries: [String: [[String: String]]] = [:]
        for domain in ["Art_and_Entertainment", "Lifestyle_and_Personal_Development", "Society_and_Culture"] {
            let data = try Data(contentsOf: repository.appendingPathComponent("data/sample/\(domain)_test.json"))
            let records = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            let id = try #require(records.first?["id"] as? String)
            entries[id] = [["output": "Practise a little every day and keep a log."]]
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: path))
    }

    /// A judge that cannot be reached gives no scores: exit 1, summary.json says incomplete,
    /// and compare refuses the folder unless told to show it.
    @Test func anUnreachableJudgeIsAnIncompleteEvaluation() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let d = scratch("unreachable")
        defer { try? FileManager.default.removeItem(atPath: d) }
        try responses(at: d + "/r.json")
        let evaluated = try iap([
            "evaluate", "--data", "data/sample", "--split", "test", "--limit", "1", "--judge", "openai", "--judge-model", "judge",
            "--judge-url", "http://user:hunter2@127.0.0.1:1/v1", "--judge-attempts", "1", "--retry-rounds", "1", "--no-cache",
            "--out", d + "/eval", "--responses", d + "/r.json",
        ])
        #expect(evaluated.status == 1, "\(evaluated.errors)")
        #expect(evaluated.errors.contains("incomplete") && evaluated.errors.contains("judge calls failed"), "\(evaluated.errors)")
        let summary = try String(contentsOfFile: d + "/eval/summary.json", encoding: .utf8)
        #expect(summary.contains(#""complete" : false"#), "\(summary)")
        #expect(!summary.contains("hunter2") && !evaluated.errors.contains("hunter2") && !evaluated.output.contains("hunter2"))
        let files = try FileManager.default.contentsOfDirectory(atPath: d + "/eval")
        #expect(!files.contains { $0.hasSuffix(".scores.json") }, "\(files)")
        // Issue 29 row 8: nothing judged, so no score anywhere — "—" and null, never 0.
        #expect(summary.contains(#""macro" : null"#) && summary.contains(#""Art_and_Entertainment" : null"#), "\(summary)")
        #expect(summary.contains(#""incomplete_domains" : ["#), "\(summary)")
        #expect(
            evaluated.output.contains("macro average") && evaluated.output.contains("—") && !evaluated.output.contains("0.0000"),
            "\(evaluated.output)")
        let scores = try String(contentsOfFile: d + "/eval/Art_and_Entertainment_test.scores.incomplete.json", encoding: .utf8)
        #expect(scores.contains(#""score" : null"#) && !scores.contains(#""score" : 0"#), "\(scores)")
        let compared = try iap(["compare", d + "/eval"])
        #expect(compared.status == 1 && compared.errors.contains("incomplete evaluation"), "\(compared.errors)")
        let shown = try iap(["compare", "--allow-incomplete", d + "/eval"])
        #expect(shown.status == 0 && shown.output.contains("(incomplete)"), "\(shown.errors)")
    }

    /// Out-of-range counts, ambiguous files and colliding outputs are refused before any work.
    @Test func badDataAndFlagsAreRefusedNamingTheCulprit() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let d = scratch("baddata")
        defer { try? FileManager.default.removeItem(atPath: d) }
        try responses(at: d + "/ra/r.json")
        try responses(at: d + "/rb/r.json")
        let evaluate = ["evaluate", "--data", "data/sample", "--split", "test", "--judge", "embedding", "--no-cache"]

        let negative = try iap(evaluate + ["--limit=-1", "--out", d + "/e1", "--responses", d + "/ra/r.json"])
        #expect(negative.status == 1 && negative.errors.contains("limit -1"), "\(negative.errors)")
        let answerNegative = try iap(["answer", "--method", "non-personalized", "--limit=-1", "--out", d + "/a.json"])
        #expect(answerNegative.status == 1 && answerNegative.errors.contains("limit -1"), "\(answerNegative.errors)")
        let trainNegative = try iap(["train", "--config", "configs/demo-cpu.yaml", "--set", "data.limit=-1", "--print-config"])
        #expect(trainNegative.status == 1 && trainNegative.errors.contains("data.limit"), "\(trainNegative.errors)")

        let colliding = try iap(evaluate + ["--limit", "1", "--out", d + "/e2", "--responses", d + "/ra/r.json", d + "/rb/r.json"])
        #expect(
            colliding.status == 1 && colliding.errors.contains("ra/r.json") && colliding.errors.contains("rb/r.json"), "\(colliding.errors)"
        )
        #expect(!FileManager.default.fileExists(atPath: d + "/e2"), "nothing was written")

        // Answers to questions that are not there: said, not a null macro with exit 0.
        try JSONSerialization.data(withJSONObject: ["no_such_id": [["output": "x"]]]).write(to: URL(fileURLWithPath: d + "/stray.json"))
        let stray = try iap(evaluate + ["--out", d + "/e5", "--responses", d + "/stray.json"])
        #expect(stray.status == 1 && stray.errors.contains("none of its 1 ids"), "\(stray.errors)")

        // The same question id in two domain files.
        let data = d + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for name in ["Art_and_Entertainment", "Lifestyle_and_Personal_Development", "Society_and_Culture"] {
            try FileManager.default.copyItem(
                atPath: repository.appendingPathComponent("data/sample/\(name)_test.json").path, toPath: "\(data)/\(name)_test.json")
        }
        let art = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/Art_and_Entertainment_test.json")))
                as? [[String: Any]])
        let societyPath = data + "/Society_and_Culture_test.json"
        var society = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: societyPath))) as? [[String: Any]])
        society[0]["id"] = art[0]["id"]
        try JSONSerialization.data(withJSONObject: society).write(to: URL(fileURLWithPath: societyPath))
        let duplicated = try iap([
            "evaluate", "--data", data, "--split", "test", "--judge", "embedding", "--no-cache", "--out", d + "/e3", "--responses",
            d + "/ra/r.json",
        ])
        #expect(
            duplicated.status == 1 && duplicated.errors.contains("Society_and_Culture_test.json")
                && duplicated.errors.contains("is also in"), "\(duplicated.errors)")

        // An empty domain file is said, not silently left out of the macro average.
        try "[]".write(toFile: societyPath, atomically: true, encoding: .utf8)
        let emptied = try iap([
            "evaluate", "--data", data, "--split", "test", "--limit", "1", "--judge", "embedding", "--no-cache", "--out", d + "/e4",
            "--responses", d + "/ra/r.json",
        ])
        #expect(emptied.status == 0 && emptied.errors.contains("holds no questions"), "\(emptied.errors)")

        // Control characters in what a message echoes are shown, not obeyed by the terminal.
        let escape = try iap(["compare", d + "/no\u{1B}[2Jsuch"])
        #expect(escape.status == 1 && !escape.errors.contains("\u{1B}") && escape.errors.contains("\\u{1B}"), "\(escape.errors)")
    }

    /// `iap serve` stops on SIGTERM (its own service group: the generation queue first, then
    /// the HTTP server) with exit 0; flags out of range are refused before any model loads.
    @Test func serveStopsOnSIGTERM() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let stopped = try iap(["serve", "--port", "0"], interruptWhen: "iap serve: ", terminate: true)
        #expect(stopped.status == 0, "\(stopped.errors.suffix(500))")
        #expect(stopped.errors.contains("http://127.0.0.1:"), "\(stopped.errors.suffix(500))")
        let zero = try iap(["serve", "--max-waiting", "0"])
        #expect(zero.status != 0 && zero.errors.contains("--max-waiting"), "\(zero.errors)")
    }

    /// `iap generate --n 100000` is refused at once; completions that cannot fit in memory are
    /// refused with the figures instead of growing until the machine swaps.
    @Test func generateRefusesWhatCannotFit() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let many = try iap(["generate", "--prompt", "Hi", "--n", "100000"])
        #expect(many.status != 0 && many.errors.contains("--n") && many.errors.contains("4096"), "\(many.errors)")
        let long = try iap(["generate", "--prompt", "Hi", "--n", "2", "--max-tokens", "1000000000"])
        #expect(long.status == 1 && long.errors.contains("MB of memory are available"), "\(long.errors)")
    }

    /// Issue 29 row 7: a prompt longer than the model's context (12k tokens to SmolLM2's
    /// 8,192) ran for minutes without a word; now it is refused before anything is generated,
    /// naming the record, its length and the context.
    @Test func answerRefusesPromptsPastTheContext() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let d = scratch("long-prompt")
        defer { try? FileManager.default.removeItem(atPath: d) }
        try FileManager.default.createDirectory(atPath: d + "/data", withIntermediateDirectories: true)
        for name in ["Art_and_Entertainment", "Lifestyle_and_Personal_Development", "Society_and_Culture"] {
            let source = repository.appendingPathComponent("data/sample/\(name)_test.json")
            var records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [[String: Any]])
            if name == "Society_and_Culture" { records[0]["narrative"] = String(repeating: "I keep a garden by the sea. ", count: 2_000) }
            try JSONSerialization.data(withJSONObject: records).write(to: URL(fileURLWithPath: d + "/data/\(name)_test.json"))
        }
        let started = Date()
        let long = try iap([
            "answer", "--method", "implicit-intent", "--data", d + "/data", "--limit", "1", "--max-tokens", "8", "--out", d + "/r.json",
        ])
        let society = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d + "/data/Society_and_Culture_test.json")))
                as? [[String: Any]])
        let id = try #require(society[0]["id"] as? String)
        #expect(long.status == 1, "\(long.errors)")
        #expect(long.errors.contains("record \(id): its prompt is ") && long.errors.contains("context of 8192"), "\(long.errors)")
        #expect(!long.errors.contains("questions answered"), "nothing was generated first: \(long.errors)")
        #expect(Date().timeIntervalSince(started) < 120)
    }

    /// `--decode-steps cuda-graphs` without a CUDA device is refused naming both flags; the
    /// static steps CUDA graphs record give eager steps' greedy reply.
    @Test func decodeStepsAreCheckedAndStaticStepsMatchEagerOnes() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let graphs = try iap(["generate", "--prompt", "Hi", "--max-tokens", "4", "--decode-steps", "cuda-graphs"])
        #expect(graphs.status != 0 && graphs.errors.contains("--decode-steps cuda-graphs needs --device cuda"), "\(graphs.errors)")
        let eager = try succeed(["generate", "--prompt", "The sea is", "--max-tokens", "12", "--greedy"])
        let statics = try succeed(["generate", "--prompt", "The sea is", "--max-tokens", "12", "--greedy", "--decode-steps", "static"])
        #expect(eager.output == statics.output && !eager.output.isEmpty)
    }

    /// `iap answer` stopped by Ctrl-C keeps the batches it finished; the same command continues
    /// after them and writes what an uninterrupted run writes.
    @Test func anInterruptedAnswerRunContinues() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let d = scratch("answer")
        defer { try? FileManager.default.removeItem(atPath: d) }
        let command = ["answer", "--method", "non-personalized", "--limit", "2", "--max-tokens", "8", "--batch", "2"]
        let stopped = try iap(command + ["--out", d + "/r.json"], interruptWhen: "2/6 questions answered")
        #expect(stopped.status != 0 && !FileManager.default.fileExists(atPath: d + "/r.json"), "\(stopped.errors)")
        #expect(FileManager.default.fileExists(atPath: d + "/r.json.partial.jsonl"), "the finished batch is kept")
        let continued = try succeed(command + ["--out", d + "/r.json"])
        #expect(continued.errors.contains("continuing after"), "\(continued.errors)")
        #expect(!FileManager.default.fileExists(atPath: d + "/r.json.partial.jsonl"))
        try succeed(command + ["--out", d + "/whole.json"])
        let resumed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d + "/r.json"))) as? NSDictionary
        let whole = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d + "/whole.json"))) as? NSDictionary
        #expect(resumed != nil && resumed == whole)
        // Another command's leftovers are not mixed in.
        try "{\"settings\":\"another model\"}\n".write(toFile: d + "/x.json.partial.jsonl", atomically: true, encoding: .utf8)
        let other = try iap(command + ["--out", d + "/x.json"])
        #expect(other.status == 1 && other.errors.contains("other settings"), "\(other.errors)")
    }

    /// Ctrl-C during training saves a checkpoint and exits 130 (so `iap train && …` stops);
    /// the run resumes from that checkpoint.
    @Test func anInterruptedTrainingRunSavesAndExitsNonZero() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let parent = scratch("interrupt")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        // Issue 29 row 10: the printed command is pasted as it is, so the folder is quoted.
        let d = parent + "/run of Anne's"
        let tiny = [
            "--set", "rollout.questions_per_step=1", "--set", "rollout.group_size=2", "--set", "rollout.max_new_tokens=8",
            "--set", "rollout.reference_max_new_tokens=8", "--set", "dapo.dynamic_sampling=false",
        ]
        let interrupted = try iap(
            ["train", "--config", "configs/demo-cpu.yaml", "--run-dir", d, "--set", "run.steps=3"] + tiny, interruptWhen: "step 1/3")
        #expect(interrupted.status == 130, "\(interrupted.status): \(interrupted.errors.suffix(1500))")
        let quoted = "'" + parent + #"/run of Anne'\''s'"#
        #expect(interrupted.errors.contains("continue with: iap train --resume \(quoted)\n"), "\(interrupted.errors.suffix(800))")
        let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: d + "/checkpoints")) ?? []
        #expect(checkpoints.contains { $0.hasPrefix("step-") && !$0.contains(".") }, "\(checkpoints)")
        // A damaged trainer_state.json is named on resume, without a "step 2:" before it (no
        // step was running), and nothing is trained or written (issue 29 rows 5 and 10).
        let last = try #require(checkpoints.filter { $0.hasPrefix("step-") && !$0.contains(".") }.max())
        let step = try #require(Int(last.dropFirst(5)))
        let state = d + "/checkpoints/\(last)/trainer_state.json"
        let saved = try String(contentsOfFile: state, encoding: .utf8)
        try saved.replacingOccurrences(of: "\"step\" : \(step)", with: #""step" : 9223372036854775807"#).write(
            toFile: state, atomically: true, encoding: .utf8)
        let resumed = try iap(["train", "--resume", d])
        #expect(resumed.status == 1)
        #expect(
            resumed.errors.contains("iap: \(state): step is 9223372036854775807 but the folder is \(last)"), "\(resumed.errors.suffix(800))"
        )
        #expect(!resumed.errors.contains("step \(step + 1):"), "\(resumed.errors.suffix(800))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: d + "/checkpoints").filter { $0.hasPrefix("step-") } == [last])
    }
}

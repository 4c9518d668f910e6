import Foundation
import Testing

/// Issue 18 item 8: every numeric flag of every command, given -1, NaN and 1e400, is refused
/// with an error naming the flag — never a crash, a hang or a run with the value. The flags
/// come from the binary's own help dump, so a flag added later is fuzzed too.
@Suite(.serialized, .timeLimit(.minutes(20))) struct FlagFuzzTests: RunsIAP {
    static let missing = "/nonexistent-iap-fuzz"
    /// Arguments that make each command otherwise complete, pointing at nothing: a value the
    /// command wrongly accepts then ends in a file error, not in a long run.
    static let base: [String: [String]] = [
        "models export": [missing, "--to", missing + "/o"], "generate": ["--prompt", "x", "--model", missing],
        "answer": ["--out", missing + "/x.json", "--model", missing, "--data", missing], "ask": ["q", "--model", missing],
        "evaluate": ["--data", missing, "--responses", missing + ".json", "--out", missing + "/o"], "compare": [missing],
        "ablate intents": ["--model", missing, "--intents", missing, "--out", missing + "/o", "--data", missing],
        "ablate buckets": ["--intents", missing, "--results", missing], "report": [missing], "serve": ["--model", missing],
        "embed": ["--model", missing, "--text", "x"], "tokenize": ["--model", missing, "--text", "x"],
        "train": ["--config", missing], "sft": ["--config", missing], "metrics": [missing],
    ]
    /// Numeric options without a default value.
    static let numericWithoutDefault: Set<String> = ["limit", "sample-seed", "nproc-per-node", "step"]

    /// Issue 14: `iap evaluate` defaults to the benchmark's protocol (SPEC-LAMPQA: judge
    /// max_tokens 4096, 100 retry rounds); the cheaper values are flags.
    @Test func evaluateDefaultsFollowTheBenchmark() throws {
        let dump = try iap(["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        let commands = (root["command"] as? [String: Any])?["subcommands"] as? [[String: Any]] ?? []
        let evaluate = try #require(commands.first { $0["commandName"] as? String == "evaluate" })
        var defaults: [String: String] = [:]
        for argument in evaluate["arguments"] as? [[String: Any]] ?? [] {
            if let name = (argument["preferredName"] as? [String: Any])?["name"] as? String {
                defaults[name] = argument["defaultValue"] as? String
            }
        }
        #expect(defaults["retry-rounds"] == "100" && defaults["judge-max-tokens"] == "4096", "\(defaults)")
    }

    /// (command words, option name) of every option whose default is a number.
    func numericOptions() throws -> [(command: [String], option: String)] {
        let dump = try iap(["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        var found: [(command: [String], option: String)] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            for argument in command["arguments"] as? [[String: Any]] ?? [] where argument["kind"] as? String == "option" {
                guard let name = (argument["preferredName"] as? [String: Any])?["name"] as? String else { continue }
                let numeric = (argument["defaultValue"] as? String).flatMap(Double.init) != nil
                if numeric || Self.numericWithoutDefault.contains(name) { found.append((path, name)) }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path + [sub["commandName"] as? String ?? "?"])
            }
        }
        walk(try #require(root["command"] as? [String: Any]), [])
        return found
    }

    @Test func everyNumericFlagRefusesOutOfRangeValues() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let options = try numericOptions()
        #expect(options.count > 40, "the help dump lists \(options.count) numeric options")
        for (command, option) in options {
            for value in ["-1", "nan", "1e400"] {
                let arguments = command + (Self.base[command.joined(separator: " ")] ?? []) + ["--\(option)=\(value)"]
                let r = try iap(arguments)
                let named = option.count < 3 ? r.errors.contains("--\(option)") : r.errors.contains(option)
                #expect(
                    r.status != 0 && r.status < 128 && named,
                    "iap \(arguments.joined(separator: " ")) → \(r.status): \(r.errors.suffix(300))")
            }
        }
    }

    /// Issue 29 row 11: a flag the chosen method does not use is refused, not ignored.
    @Test func flagsAMethodDoesNotUseAreRefused() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let answer = ["answer", "--out", Self.missing + "/x.json", "--model", Self.missing, "--data", Self.missing]
        for (flags, named) in [
            (["--method", "non-personalized", "--input", "narrative"], "--input: the non-personalized method"),
            (["--method", "implicit-intent", "--intents", Self.missing], "--intents: only --method explicit-intent"),
            (["--method", "implicit-intent", "--prefill", "<think>"], "only --method iap uses them"),
            (["--method", "non-personalized", "--block-budgets", "8,8,8,8"], "only --method iap uses them"),
        ] {
            let r = try iap(answer + flags)
            #expect(r.status == 64 && r.errors.contains(named), "\(flags) → \(r.status): \(r.errors.suffix(300))")
        }
        // The flags a method uses still reach its file errors.
        let fine = try iap(answer + ["--method", "implicit-intent", "--input", "question"])
        #expect(fine.status == 1 && fine.errors.contains(Self.missing), "\(fine.errors.suffix(300))")
    }

    /// Issue 29 rows 2 and 3 at the command line: a `--set` value or a config file nested
    /// 5,000 levels (it crashed the YAML parser with SIGSEGV), and a second writer of a run
    /// folder whose lock is held.
    @Test func deepYAMLAndAHeldRunFolderAreRefused() throws {
        guard binaryIsBuilt else {
            Issue.record("build the iap binary first (make test does)")
            return
        }
        let deep = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        let set = try iap(["train", "--set", "run.name=" + deep, "--print-config"])
        #expect(
            set.status == 1 && set.errors.contains("--set run.name: the YAML nests deeper than 64 levels"),
            "\(set.status): \(set.errors.suffix(300))")
        let folder = scratch("deep-yaml")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try ("run:\n  name:\n    " + String(repeating: "- ", count: 5_000) + "x\n").write(
            toFile: folder + "/deep.yaml", atomically: true, encoding: .utf8)
        let file = try iap(["train", "--config", folder + "/deep.yaml", "--print-config"])
        #expect(
            file.status == 1 && file.errors.contains("deep.yaml: the YAML nests deeper than 64 levels"),
            "\(file.status): \(file.errors.suffix(300))")
        // A resumed run rereads its config.yaml: a deep one is refused there too, naming it.
        try FileManager.default.copyItem(atPath: folder + "/deep.yaml", toPath: folder + "/config.yaml")
        let resumed = try iap(["train", "--resume", folder, "--print-config"])
        #expect(
            resumed.status == 1 && resumed.errors.contains("config.yaml: the YAML nests deeper"),
            "\(resumed.status): \(resumed.errors.suffix(300))")
    }
}

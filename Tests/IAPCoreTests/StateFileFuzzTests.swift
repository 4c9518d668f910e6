import FileIO
import Foundation
import JSONFiles
import Testing

@testable import IAPCore

/// Issue 18 item 8: every field of a checkpoint's trainer_state.json set to values a damaged
/// or hand-edited file holds. Each gives an error naming the file and the field, or a state
/// whose counts are usable (never a negative count that crashes a trainer later).
@Suite struct StateFileFuzzTests {
    static let fixture = repositoryRoot.appendingPathComponent("Tests/Fixtures/legacy/run/checkpoints/step-000001/trainer_state.json")
    static let hostile: [String] = [
        "-1", "-9223372036854775808", "9223372036854775808", "1e300", "1.5", "\"7\"", "null", "true", "[]", "{}", "NaN",
    ]

    @Test func everyFieldWithHostileValues() throws {
        let original = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture)) as? [String: Any])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("state-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/" + TrainerState.fileName
        var outcomes: [String: Int] = ["refused": 0, "loaded": 0]
        for field in original.keys.sorted() {
            for value in Self.hostile {
                var lines: [String] = []
                for (key, old) in original.sorted(by: { $0.key < $1.key }) {
                    lines.append("\"\(key)\": " + (key == field ? value : "\(old)"))
                }
                try ("{" + lines.joined(separator: ", ") + "}").write(toFile: path, atomically: true, encoding: .utf8)
                do {
                    let state = try JSONFile.read(TrainerState.self, from: path)
                    outcomes["loaded", default: 0] += 1
                    #expect(
                        state.step >= 0 && (state.cursor ?? 0) >= 0 && (state.epoch ?? 0) >= 0 && state.optimizerStep >= 0,
                        "\(field) = \(value)")
                } catch {
                    outcomes["refused", default: 0] += 1
                    let message = "\(error)"
                    #expect(message.contains(TrainerState.fileName), "\(field) = \(value): \(message)")
                    #expect(message.contains(field) || value == "NaN", "\(field) = \(value): \(message)")
                }
            }
        }
        #expect(outcomes["refused", default: 0] > outcomes["loaded", default: 0])
        for broken in ["", "[]", "{", "{\"step\": 1", "\u{0}\u{1}"] {
            try broken.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: FileIOError.self) { try JSONFile.read(TrainerState.self, from: path) }
        }
    }
}

/// Issue 29 row 3: values nested thousands of levels deep (10 KB of text) once crashed the
/// YAML parser with SIGSEGV, and `--resume` rereads config.yaml, so a folder could be made
/// unresumable. Every nesting form is refused with the file or `--set` named; the JSON reader
/// (trainer_state.json, adapter_config.json, …) refuses too.
@Suite struct NestingDepthTests {
    static let depth = 5_000
    static let forms: [String: String] = [
        "flow list": "run:\n  name: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n",
        "flow map": "run:\n  name: " + String(repeating: "{a: ", count: depth) + "x" + String(repeating: "}", count: depth) + "\n",
        "compact dashes": "run:\n  name:\n    " + String(repeating: "- ", count: depth) + "x\n",
        "indented": "run:\n" + (1...1_000).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " x\n",
    ]

    @Test func deepYAMLIsRefusedNotACrash() throws {
        for (form, text) in Self.forms {
            do {
                _ = try ConfigLoader.load(yaml: text, source: "deep.yaml")
                Issue.record("\(form): accepted")
            } catch {
                #expect(error.message.hasPrefix("deep.yaml: "), "\(form): \(error)")
                #expect(error.message.contains("nests deeper than 64 levels"), "\(form): \(error)")
            }
        }
        let value = String(repeating: "[", count: Self.depth) + String(repeating: "]", count: Self.depth)
        #expect(throws: ConfigError("--set run.name: the YAML nests deeper than 64 levels; a configuration needs 3 (section, key, list)")) {
            _ = try ConfigLoader.load(file: nil, overrides: ["run.name=" + value])
        }
    }

    /// Aliases nest deeper than the text: each anchor wraps the one before.
    @Test func deepAliasChainsAreRefused() throws {
        var text = "run:\n  name: x\nchain:\n  a0: &a0 [x]\n"
        for k in 1...80 { text += "  a\(k): &a\(k) [*a\(k - 1)]\n" }
        #expect(
            throws: ConfigError(
                "deep.yaml: with its aliases expanded, the YAML nests deeper than 64 levels; a configuration needs 3 (section, key, list)")
        ) {
            _ = try ConfigLoader.load(yaml: text, source: "deep.yaml")
        }
    }

    @Test func ordinaryConfigsAreWellWithinTheBound() throws {
        for name in ["demo-cpu.yaml", "paper/paper.yaml"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent("configs/" + name), encoding: .utf8)
            #expect(YAMLNesting.estimate(text[...]) <= 8, "\(name)")
        }
    }

    @Test func deepJSONIsRefusedNotACrash() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deep-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (String(repeating: "{\"a\": ", count: Self.depth) + "1" + String(repeating: "}", count: Self.depth)).write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: FileIOError.self) { try JSONFile.read(TrainerState.self, from: path) }
        try (String(repeating: "[", count: Self.depth) + String(repeating: "]", count: Self.depth)).write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: FileIOError.self) { try JSONFile.read([String].self, from: path) }
    }
}

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
                    #expect(state.step >= 0 && (state.cursor ?? 0) >= 0 && (state.epoch ?? 0) >= 0 && state.optimizerStep >= 0, "\(field) = \(value)")
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

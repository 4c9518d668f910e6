import Foundation
import Testing

@testable import ModelFormats

/// Issue 29 row 4 (and the state-file fuzzing of issue 18 extended to adapters): every key
/// of a peft adapter_config.json set to hostile values. Each is refused (a decoding error, or
/// a `problem` naming the key) or gives an adapter whose numbers are usable: rank at least 1,
/// dropout in [0, 1), a scale that is finite in every precision the update runs in.
@Suite struct AdapterConfigFuzzTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/lora/peft-adapter/adapter_config.json")
    static let hostile = [
        "-1", "0", "1e308", "-1e308", "1e-320", "9223372036854775807", "1.5", "\"7\"", "null", "true", "[]", "{}", "\"all-linear\"",
    ]

    @Test func everyKeyWithHostileValues() throws {
        let original = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture)) as? [String: Any])
        var refused = 0
        for key in original.keys.sorted() {
            for value in Self.hostile {
                var fields = try original.mapValues { try JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed) }
                fields[key] = Data(value.utf8)
                let json =
                    "{"
                    + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\": " + String(decoding: $0.value, as: UTF8.self) }
                    .joined(separator: ", ") + "}"
                guard let config = try? JSONDecoder().decode(LoRAAdapterConfig.self, from: Data(json.utf8)), config.problem == nil else {
                    refused += 1
                    continue
                }
                #expect(config.r >= 1 && (0..<1).contains(config.loraDropout), "\(key) = \(value)")
                #expect(
                    config.scale > 0 && config.scale <= 65504 && Float(config.scale).isFinite, "\(key) = \(value): scale \(config.scale)")
            }
        }
        #expect(refused > 0)
    }

    /// The probe's case: finite and positive, but alpha/r overflows the update.
    @Test func anOverflowingScaleIsNamed() throws {
        for (json, rslora) in [
            (#"{"r": 8, "lora_alpha": 1e308, "target_modules": ["q_proj"]}"#, false),
            (#"{"r": 1, "lora_alpha": 70000, "use_rslora": true, "target_modules": ["q_proj"]}"#, true),
        ] {
            let config = try JSONDecoder().decode(LoRAAdapterConfig.self, from: Data(json.utf8))
            #expect(config.useRslora == rslora)
            #expect(
                config.problem?.contains("lora_alpha") == true && config.problem?.contains("float16") == true,
                "\(config.problem ?? "accepted")")
        }
    }
}

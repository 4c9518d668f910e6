import Foundation
import JSONFiles
import SafeTensors
import Testing

@testable import ModelFormats

/// SplitMix64: a seeded generator so every mutation is reproducible from its index.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A damaged copy of a valid file; `truncated` when it is a strict prefix of the original
/// (a binary or JSON file cut short must fail or, if only padding went, read as the original).
struct Mutant {
    var bytes: [UInt8]
    var truncated: Bool
}

/// Damaged copies of a valid file: truncations, flipped bytes, 8-byte windows set to huge
/// or zero values (counts, lengths, offsets), invalid UTF-8, and for text formats, digits
/// and brackets replaced.
func mutations(of original: [UInt8], count: Int, seed: UInt64, text: Bool = false) -> [Mutant] {
    var rng = SeededGenerator(state: seed)
    var out = [0, 1, 7, original.count / 2].map { Mutant(bytes: Array(original.prefix($0)), truncated: true) }
    for i in 0..<count {
        var bytes = original
        switch i % 6 {
        case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 1:
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 2:
            let at = Int.random(in: 0..<(bytes.count - 8), using: &rng)
            let value: UInt64 = [UInt64.max, 1 << 62, 1 << 40, 0, UInt64(bytes.count), 0x7FFF_FFFF].randomElement(using: &rng)!
            for k in 0..<8 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        case 3:
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            bytes.insert(contentsOf: [0xC3, 0x28, 0xFF, 0xE2, 0x82], at: at)
        case 4 where text:
            // Swap structural characters or digits for others.
            for _ in 0..<4 {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[at] = Array("{}[]\":,0123456789-e".utf8).randomElement(using: &rng)!
            }
        default:
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &rng)))
        }
        out.append(Mutant(bytes: bytes, truncated: i % 6 == 0))
    }
    return out
}

/// Writes `bytes` to a temporary file, calls `body` with its path, removes the file, and
/// returns what `body` returned.
func withTemporaryFile<T>(_ bytes: [UInt8], suffix: String, _ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("iap-mutant-\(UUID().uuidString)\(suffix)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Counts what a reader did with the damaged copies, checking the rule for each: an error
/// that names the file, or a result; for a truncated copy, only the intact file's result.
struct MutantOutcomes<Result: Equatable> {
    let intact: Result
    var errors = 0
    var results = 0

    mutating func check(_ mutant: Mutant, index: Int, naming name: String, _ read: () throws -> Result) {
        do {
            let result = try read()
            results += 1
            if mutant.truncated { #expect(result == intact, "truncated copy \(index) read as a different file") }
        } catch {
            errors += 1
            #expect("\(error)".contains(name), "mutation \(index): the error does not name the file: \(error)")
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct MutatedFileTests {
    /// Every reader must return an error naming the file or a valid result for each damaged
    /// file; a crash ends the test process and a hang trips the time limit.
    @Test func ggufReaderSurvivesDamage() throws {
        let original = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("quant-types.gguf")))
        func read(_ path: String) throws -> [String: [Float]] {
            let file = try GGUFFile(path: path)
            var values: [String: [Float]] = [:]
            for tensor in file.tensors where tensor.type.canDequantize { values[tensor.name] = try file.dequantize(tensor) }
            _ = try? ModelConfig.from(gguf: file)
            _ = try? Tokenizer.load(gguf: file)
            return values
        }
        var outcomes = try withTemporaryFile(original, suffix: ".gguf") { path in MutantOutcomes(intact: try read(path)) }
        #expect(!outcomes.intact.isEmpty)
        for (i, mutant) in mutations(of: original, count: 600, seed: 1).enumerated() {
            try withTemporaryFile(mutant.bytes, suffix: ".gguf") { path in outcomes.check(mutant, index: i, naming: path) { try read(path) }
            }
        }
        #expect(outcomes.errors > 100)
    }

    @Test func ggufTokenizerLoaderSurvivesDamage() throws {
        let original = try [UInt8](Data(contentsOf: tokenizerFixtures.appendingPathComponent("tiny-tokenizer.gguf")))
        var loaded = 0
        for mutant in mutations(of: original, count: 300, seed: 7) {
            try withTemporaryFile(mutant.bytes, suffix: ".gguf") { path in
                guard let file = try? GGUFFile(path: path), let tokenizer = try? Tokenizer.load(gguf: file) else { return }
                loaded += 1
                _ = tokenizer.decode(tokenizer.encode("Hello, wörld 123 <|im_end|>", addSpecialTokens: true, recognizeSpecialTokens: true))
                _ = try? ModelFiles(path: path).chatTemplate().render([ChatMessage(.user, "hi")], addGenerationPrompt: true)
            }
        }
        #expect(loaded > 0)
    }

    @Test func safetensorsReaderSurvivesDamage() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let values: [Float] = (0..<64).map(Float.init)
        let record = SafeTensorsRecord(name: "weight", dtype: "F32", shape: [8, 8], byteCount: 256) { body throws(SafeTensorsError) in
            var result: Result<Void, SafeTensorsError> = .success(())
            values.withUnsafeBytes { raw in result = Result { () throws(SafeTensorsError) in try body(raw) } }
            try result.get()
        }
        try SafeTensorsWriter.write([record, record.renamed("bias")], metadata: ["format": "pt"], to: folder + "/model.safetensors")
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")))
        func read(_ path: String) throws -> [String: [UInt8]] {
            let file = try SafeTensorsFile(path: path)
            return Dictionary(file.entries.map { ($0.name, Array(file.bytes(of: $0))) }, uniquingKeysWith: { a, _ in a })
        }
        var outcomes = try withTemporaryFile(original, suffix: ".safetensors") { path in MutantOutcomes(intact: try read(path)) }
        #expect(outcomes.intact.count == 2)
        for (i, mutant) in mutations(of: original, count: 400, seed: 2).enumerated() {
            try withTemporaryFile(mutant.bytes, suffix: ".safetensors") { path in
                outcomes.check(mutant, index: i, naming: path) { try read(path) }
            }
        }
        #expect(outcomes.errors > 100)
    }

    @Test func tokenizerJSONReaderSurvivesDamage() throws {
        let original = try [UInt8](Data(contentsOf: tokenizerFixtures.appendingPathComponent("tiny-llama3.tokenizer.json")))
        func read(_ path: String) throws -> [Int] {
            let tokenizer = try Tokenizer.load(tokenizerJSON: path)
            let ids = tokenizer.encode("Hello, wörld 123 <|im_end|>", recognizeSpecialTokens: true)
            _ = tokenizer.decode(ids + [-1, 1 << 40])
            return ids
        }
        var outcomes = try withTemporaryFile(original, suffix: ".json") { path in MutantOutcomes(intact: try read(path)) }
        for (i, mutant) in mutations(of: original, count: 300, seed: 3, text: true).enumerated() {
            try withTemporaryFile(mutant.bytes, suffix: ".json") { path in outcomes.check(mutant, index: i, naming: path) { try read(path) }
            }
        }
        #expect(outcomes.results > 0 && outcomes.errors > 50)
    }

    @Test func configAndTemplateReadersSurviveDamage() throws {
        let config = Array(
            #"{"model_type":"llama","hidden_size":64,"num_attention_heads":4,"num_key_value_heads":2,"rope_scaling":{"rope_type":"llama3","factor":8.0},"eos_token_id":[1,2]}"#
                .utf8)
        var configs = MutantOutcomes(intact: try ModelConfig.parse(json: String(decoding: config, as: UTF8.self), source: "intact"))
        for (i, mutant) in mutations(of: config, count: 400, seed: 4, text: true).enumerated() {
            configs.check(mutant, index: i, naming: "mutant") {
                let parsed = try ModelConfig.parse(json: String(decoding: mutant.bytes, as: UTF8.self), source: "mutant")
                // What was accepted is a configuration we would write back unchanged.
                #expect(try ModelConfig.parse(json: JSONFile.encode(parsed.huggingFaceConfig), source: "again") == parsed, "mutation \(i)")
                return parsed
            }
        }
        #expect(configs.errors > 100 && configs.results > 0)
        let template = Array("begin: <s>\nsystem: [S]{content}\\n\nuser: [U]{content}\nassistant: [A]{content}\ngeneration: [A]\n".utf8)
        for mutant in mutations(of: template, count: 300, seed: 5, text: true) {
            if let file = try? ChatTemplateFile.parse(String(decoding: mutant.bytes, as: UTF8.self), source: "mutant") {
                _ = try? ChatTemplate(family: .custom(file)).render([ChatMessage(.user, "hi")], addGenerationPrompt: true)
            }
        }
        let vocab = Array("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\nworld\n".utf8)
        for mutant in mutations(of: vocab, count: 200, seed: 6) {
            try withTemporaryFile(mutant.bytes, suffix: ".txt") { path in
                if let tokenizer = try? Tokenizer.load(vocabTXT: path) { _ = tokenizer.encode("hellos world", addSpecialTokens: true) }
            }
        }
    }

    @Test func jsonParserRefusesDeepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONError.self) { try JSONValue.parse(deep) }
    }
}

extension SafeTensorsRecord {
    func renamed(_ name: String) -> SafeTensorsRecord {
        SafeTensorsRecord(name: name, dtype: dtype, shape: shape, byteCount: byteCount, produce: produce)
    }
}

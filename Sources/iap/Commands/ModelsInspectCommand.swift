import ArgumentParser
import ModelFormats
import SafeTensors

/// `iap models inspect`: what a model file or folder holds, without loading weights.
struct ModelsInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's architecture, sizes, tensor types, tokenizer and chat template family.")

    @Argument(help: "A known model name or a path to a .gguf file or Hugging Face folder.")
    var model: String

    @Flag(help: "Also list every tensor with its type and shape.")
    var tensors = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let files = try CLI.openModel(model)
        var fields: [(String, JSONValue)] = [("path", .string(files.path))]
        var lines: [String] = ["path          \(files.path)"]
        func add(_ key: String, _ label: String, _ value: JSONValue, _ text: String) {
            fields.append((key, value))
            lines.append(label.padding(toLength: 14) + text)
        }
        switch files.config {
        case .causalLM(let c):
            add("architecture", "architecture", .string(c.family.rawValue), "\(c.family.rawValue) (causal LM)")
            add("parameters", "parameters", .int(c.parameterCount), Self.millions(c.parameterCount))
            add("layers", "layers", .int(c.layerCount), "\(c.layerCount)")
            add("hidden_size", "hidden", .int(c.hiddenSize), "\(c.hiddenSize), MLP \(c.intermediateSize)")
            add("heads", "heads", .object([("query", .int(c.headCount)), ("key_value", .int(c.kvHeadCount)), ("head_dim", .int(c.headDim))]),
                "\(c.headCount) query / \(c.kvHeadCount) key-value, head dim \(c.headDim)")
            add("vocab_size", "vocabulary", .int(c.vocabSize), "\(c.vocabSize)")
            add("context", "context", .int(c.maxPositions), "\(c.maxPositions) positions, RoPE theta \(c.ropeTheta)\(Self.scaling(c.ropeScaling))")
            add("tied_embeddings", "LM head", .bool(c.tieWordEmbeddings), c.tieWordEmbeddings ? "tied to the embeddings" : "separate")
            add("qkv_bias", "biases", .bool(c.qkvBias), c.qkvBias ? "on q/k/v projections" : "none")
        case .bert(let b):
            add("architecture", "architecture", .string("bert"), "bert (encoder)")
            add("parameters", "parameters", .int(b.parameterCount), Self.millions(b.parameterCount))
            add("layers", "layers", .int(b.layerCount), "\(b.layerCount)")
            add("hidden_size", "hidden", .int(b.hiddenSize), "\(b.hiddenSize), MLP \(b.intermediateSize), \(b.headCount) heads")
            add("vocab_size", "vocabulary", .int(b.vocabSize), "\(b.vocabSize)")
            add("context", "context", .int(b.maxPositions), "\(b.maxPositions) positions")
        }
        let summaries = files.tensorSummaries
        var counts: [String: Int] = [:]
        for t in summaries { counts[t.type, default: 0] += 1 }
        let histogram = counts.sorted { $0.value > $1.value }
        switch files.weights {
        case .gguf(let file):
            add("format", "format", .string("gguf"), "GGUF v\(file.version), \(summaries.count) tensors")
        case .safetensors(let checkpoint):
            add("format", "format", .string("safetensors"),
                "safetensors, \(checkpoint.shards.count) file(s), \(summaries.count) tensors, \(Self.megabytes(checkpoint.byteCount))")
        }
        add("tensor_types", "tensor types", .object(histogram.map { ($0.key, .int($0.value)) }),
            histogram.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        do {
            let tokenizer = try files.loadTokenizer()
            let specials = [("bos", tokenizer.bosId), ("eos", tokenizer.eosId), ("pad", tokenizer.padId)].compactMap { name, id in
                id.flatMap { tokenizer.token($0) }.map { "\(name) \($0)" }
            }
            add("tokenizer", "tokenizer", .object([("kind", .string(tokenizer.kind.rawValue)), ("vocab_size", .int(tokenizer.vocabularySize))]),
                "\(tokenizer.kind.rawValue), \(tokenizer.vocabularySize) ids" + (specials.isEmpty ? "" : "; " + specials.joined(separator: ", ")))
        } catch {
            add("tokenizer", "tokenizer", .string("error: \(error)"), "not usable: \(error)")
        }
        if files.chatTemplateText != nil {
            do {
                let template = try files.chatTemplate()
                var detail = template.familyName
                if case .chatML(let system?) = template.family { detail += " (default system message: \"\(system)\")" }
                add("chat_template", "chat template", .string(template.familyName), detail)
            } catch {
                add("chat_template", "chat template", .string("unknown"), "not recognised: pass --chat-template FILE")
            }
        } else {
            add("chat_template", "chat template", .null, "none")
        }
        if json {
            if tensors {
                fields.append(("tensors", .array(summaries.map { t in
                    .object([("name", .string(t.name)), ("type", .string(t.type)), ("shape", .array(t.shape.map { .int($0) }))])
                })))
            }
            print(JSONValue.object(fields).serialized)
        } else {
            print(lines.joined(separator: "\n"))
            if tensors {
                for t in summaries { print("  \(t.name.padding(toLength: 48)) \(t.type.padding(toLength: 6)) \(t.shape)") }
            }
        }
    }

    static func millions(_ n: Int) -> String {
        let m = Double(n) / 1e6
        return m >= 1000 ? "\(Double(Int(m / 100)) / 10)B" : "\(Double(Int(m * 10)) / 10)M"
    }

    static func megabytes(_ n: Int) -> String { "\(Double(n / 100_000) / 10) MB" }

    static func scaling(_ s: CausalLMConfig.RopeScaling?) -> String {
        switch s {
        case nil: ""
        case .llama3(let factor, _, _, let original): ", Llama 3 scaling ×\(factor) from \(original)"
        case .linear(let factor): ", linear scaling ×\(factor)"
        case .frequencyFactorsTensor(let name): ", frequency factors from \(name)"
        }
    }
}

extension String {
    func padding(toLength width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

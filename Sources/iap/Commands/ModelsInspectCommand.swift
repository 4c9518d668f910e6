import ArgumentParser
import CommandSupport
import ModelFormats

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
        let summary = try CLI.openModel(model).summary(tensors: tensors)
        if json { return CommandOutput.print(summary) }
        print(Self.lines(summary).joined(separator: "\n"))
        for t in summary.tensors ?? [] { print("  \(t.name.padding(toLength: 48)) \(t.type.padding(toLength: 6)) \(t.shape)") }
    }

    /// The summary as aligned `label  value` lines.
    static func lines(_ s: ModelSummary) -> [String] {
        let causal = !s.isEncoder
        var rows: [(String, String)] = [
            ("path", s.path), ("architecture", "\(s.architecture) (\(causal ? "causal LM" : "encoder"))"),
            ("parameters", millions(s.parameters)), ("layers", "\(s.layers)"),
        ]
        if causal {
            rows.append(("hidden", "\(s.hiddenSize), MLP \(s.intermediateSize)"))
            rows.append(("heads", "\(s.heads.query) query / \(s.heads.keyValue) key-value, head dim \(s.heads.headDim)"))
        } else {
            rows.append(("hidden", "\(s.hiddenSize), MLP \(s.intermediateSize), \(s.heads.query) heads"))
        }
        rows.append(("vocabulary", "\(s.vocabSize)"))
        let rope = s.ropeTheta.map { ", RoPE theta \($0)" + (s.ropeScaling.map { ", \($0)" } ?? "") } ?? ""
        rows.append(("context", "\(s.context) positions\(rope)"))
        if let tied = s.tiedEmbeddings { rows.append(("LM head", tied ? "tied to the embeddings" : "separate")) }
        if let bias = s.qkvBias { rows.append(("biases", bias ? "on q/k/v projections" : "none")) }
        rows.append(("format", s.formatDetail + (s.weightBytes.map { ", \(megabytes($0))" } ?? "")))
        let types = s.tensorTypes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        rows.append(("tensor types", types.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")))
        if let error = s.tokenizer.error {
            rows.append(("tokenizer", "not usable: \(error)"))
        } else {
            let special = ["bos", "eos", "pad"].compactMap { role in s.tokenizer.special?[role].map { "\(role) \($0)" } }
            rows.append(
                (
                    "tokenizer",
                    "\(s.tokenizer.kind ?? "?"), \(s.tokenizer.vocabSize ?? 0) ids"
                        + (special.isEmpty ? "" : "; " + special.joined(separator: ", "))
                ))
        }
        if let stops = s.stopTokens, !stops.isEmpty {
            rows.append(
                (
                    "stop tokens",
                    stops.map { "\($0.id)\($0.token.map { " \($0)" } ?? "") (\($0.from.joined(separator: ", ")))" }.joined(separator: "; ")
                ))
        }
        switch (s.chatTemplate, s.chatTemplate?.family) {
        case (nil, _):
            rows.append(("chat template", "none in the files (a base model): prompted with iap's plain template, or --chat-template FILE"))
        case (_, nil): rows.append(("chat template", "not recognised: pass --chat-template FILE"))
        case (let t?, let family?):
            rows.append(("chat template", family + (t.defaultSystemMessage.map { " (default system message: \"\($0)\")" } ?? "")))
        }
        return rows.map { $0.0.padding(toLength: 14) + $0.1 }
    }

    static func millions(_ n: Int) -> String {
        let m = Double(n) / 1e6
        return m >= 1000 ? "\(Double(Int(m / 100)) / 10)B" : "\(Double(Int(m * 10)) / 10)M"
    }

    static func megabytes(_ n: Int) -> String { "\(Double(n / 100_000) / 10) MB" }
}

import ArgumentParser
import CommandSupport
import Transformers

/// `iap embed`: sentence embeddings from a BERT encoder.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print mean-pooled, L2-normalised sentence embeddings (one JSON array per text).")

    @Option(help: "A known model name or a path to a Hugging Face BERT folder.")
    var model = "all-minilm-l6-v2"

    @Option(help: "A text to embed (repeatable).")
    var text: [String] = []

    @Option(help: "Read texts from this file, one per line.")
    var file: String?

    @Option(help: "Maximum tokens per text (longer texts are truncated).")
    var maxLength = 256

    func validate() throws { try FlagCheck.atLeast("--max-length", maxLength, 2) }

    func run() throws {
        var texts = text
        if let file { texts += try CLI.readText(file).split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        guard !texts.isEmpty else { throw CLI.failure("give --text (repeatable) or --file") }
        let files = try CLI.openModel(model)
        let tokenizer = try CLI.loadTokenizer(files)
        do {
            let encoder = try TextEncoders.load(files)
            let embeddings = try encoder.embed(texts, tokenizer: tokenizer, maxLength: maxLength)
            let values = try embeddings.toArray(Float.self)
            let width = embeddings.shape[1]
            for i in 0..<texts.count {
                CommandOutput.print(values[(i * width)..<((i + 1) * width)].map(Double.init))
            }
        } catch {
            throw CLI.failure("\(error)")
        }
    }
}

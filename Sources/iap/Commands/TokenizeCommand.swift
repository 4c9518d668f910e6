import ArgumentParser
import CommandSupport
import ModelFormats
import JSONFiles

/// `iap tokenize`: text → ids with the model's own tokenizer.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (space-separated, or JSON with --json).")

    @Option(help: "A known model name or a path to a .gguf file or Hugging Face folder.")
    var model: String

    @Option(help: "The text to tokenize.")
    var text: String?

    @Option(help: "Read the text from this file ('-' for standard input).")
    var file: String?

    @Flag(help: "Recognise special tokens written in the text (e.g. <|im_end|>); by default they are plain text.")
    var special = false

    @Flag(help: "Add the model's special tokens around the text (BOS, or [CLS] … [SEP]).")
    var addSpecialTokens = false

    @Flag(help: "Print {\"ids\": [...], \"tokens\": [...]}.")
    var json = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text or --file") }
    }

    func run() throws {
        let files = try CLI.openModel(model)
        let tokenizer = try CLI.loadTokenizer(files)
        let input: String
        if let text {
            input = text
        } else if file == "-" {
            input = CLI.readStandardInput()
        } else {
            input = try CLI.readText(file ?? "")
        }
        let ids = tokenizer.encode(input, addSpecialTokens: addSpecialTokens, recognizeSpecialTokens: special)
        if json {
            CommandOutput.print(CommandOutput.Tokens(ids: ids, tokens: ids.map { tokenizer.token($0) ?? "" }))
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}

/// `iap detokenize`: ids → text.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Print the text of token ids (given as arguments, or on standard input as numbers or iap tokenize --json output).")

    @Option(help: "A known model name or a path to a .gguf file or Hugging Face folder.")
    var model: String

    @Flag(help: "Leave special tokens out of the text.")
    var skipSpecial = false

    @Argument(help: "Token ids; when none are given they are read from standard input.")
    var ids: [String] = []

    func run() throws {
        let files = try CLI.openModel(model)
        let tokenizer = try CLI.loadTokenizer(files)
        let parsed = try DetokenizeCommand.parseIds(ids.isEmpty ? CLI.readStandardInput() : ids.joined(separator: " "))
        for id in parsed where tokenizer.token(id) == nil {
            throw CLI.failure("id \(id) is outside the vocabulary (0..<\(tokenizer.vocabularySize))")
        }
        print(tokenizer.decode(parsed, skipSpecialTokens: skipSpecial))
    }

    /// Numbers separated by spaces, commas or newlines, a JSON array, or an object with "ids".
    static func parseIds(_ text: String) throws(ExitCode) -> [Int] {
        let trimmed = String(text.drop { $0.isWhitespace })
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            if let list = try? JSONFile.decode([Int].self, from: trimmed, source: "input") { return list }
            if let object = try? JSONFile.decode(CommandOutput.Tokens.self, from: trimmed, source: "input") { return object.ids }
            throw CLI.failure("expected a JSON array of integers or an object with an \"ids\" array")
        }
        var out: [Int] = []
        for piece in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
            guard let id = Int(piece) else { throw CLI.failure("'\(piece)' is not a token id") }
            out.append(id)
        }
        return out
    }
}

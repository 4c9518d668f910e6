#if canImport(Glibc)
    import Glibc
#endif
import SafeTensors
import FileIO
import JSONFiles

/// A model on disk, either form: a single `.gguf` file, or a Hugging Face folder
/// (`config.json`, `model.safetensors` or shards with their index, `tokenizer.json` or
/// `vocab.txt`, `tokenizer_config.json`, the chat template).
public final class ModelFiles: @unchecked Sendable {
    public enum Weights: @unchecked Sendable {
        case gguf(GGUFFile)
        case safetensors(WeightFolder)
    }

    public let path: String
    public let config: ModelConfig
    public let weights: Weights
    /// The Jinja chat template text the model ships, if any.
    public let chatTemplateText: String?
    /// A causal LM's stop ids and where each is named (`config.eosTokenIds` holds the ids).
    public let stopTokens: StopTokens
    /// `tokenizer_config.json`, when the folder has one.
    public let tokenizerSettings: TokenizerSettings?

    public init(path: String) throws(ModelFileError) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else { throw ModelFileError(path: path, reason: "does not exist") }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            let configPath = path + "/config.json"
            let document = try readJSON(HuggingFaceConfig.self, configPath)
            var stops = try StopTokens.named(inFolder: path, config: document)
            config = try ModelConfig.parse(document, source: configPath).stopping(at: &stops)
            stopTokens = stops
            do { weights = .safetensors(try WeightFolder(folder: path)) } catch {
                throw ModelFileError(path: error.path, reason: error.reason)
            }
            let tokenizerConfigPath = path + "/tokenizer_config.json"
            tokenizerSettings = access(tokenizerConfigPath, F_OK) == 0 ? try readJSON(TokenizerSettings.self, tokenizerConfigPath) : nil
            chatTemplateText = try ModelFiles.folderChatTemplate(path, settings: tokenizerSettings)
        } else {
            let file: GGUFFile
            do { file = try GGUFFile(path: path) } catch { throw ModelFileError(path: error.path, reason: error.reason) }
            config = try ModelConfig.from(gguf: file)
            var stops = StopTokens()
            if case .causalLM(let c) = config { stops.add(c.eosTokenIds, from: "gguf metadata") }
            stopTokens = stops
            weights = .gguf(file)
            tokenizerSettings = nil
            chatTemplateText = file["tokenizer.chat_template"]?.stringValue
        }
    }

    /// The chat template of a folder: `chat_template.jinja`, `chat_template.json`, or the
    /// `chat_template` field of tokenizer_config.json (a string, or named templates of which
    /// `default` is taken).
    static func folderChatTemplate(_ folder: String, settings: TokenizerSettings?) throws(ModelFileError) -> String? {
        let jinja = folder + "/chat_template.jinja"
        if access(jinja, F_OK) == 0 {
            do { return try AtomicFile.readText(jinja) } catch {
                throw ModelFileError(path: jinja, reason: error.reason)
            }
        }
        let json = folder + "/chat_template.json"
        if access(json, F_OK) == 0, let text = try readJSON(ChatTemplateJSON.self, json).chatTemplate { return text }
        return settings?.chatTemplate?.chatTemplate
    }

    /// Loads the tokenizer: GGUF metadata, else `tokenizer.json`, else `spm.model` (DeBERTa-v2/v3),
    /// else `vocab.txt` (BERT).
    public func loadTokenizer() throws(TokenizerError) -> Tokenizer {
        switch weights {
        case .gguf(let file): return try Tokenizer.load(gguf: file)
        case .safetensors:
            let json = path + "/tokenizer.json"
            if access(json, F_OK) == 0 { return try Tokenizer.load(tokenizerJSON: json, settings: tokenizerSettings) }
            let spm = path + "/spm.model"
            if access(spm, F_OK) == 0 {
                let added = path + "/added_tokens.json"
                return try Tokenizer.load(
                    sentencePieceModel: spm, settings: tokenizerSettings, addedTokensJSON: access(added, F_OK) == 0 ? added : nil)
            }
            let vocab = path + "/vocab.txt"
            if access(vocab, F_OK) == 0 {
                return try Tokenizer.load(vocabTXT: vocab, lowercase: tokenizerSettings?.doLowerCase ?? true)
            }
            throw TokenizerError(source: path, reason: "no tokenizer.json, spm.model or vocab.txt in the folder")
        }
    }

    /// What `--chat-template` / `policy.chat_template` takes for iap's plain template, which
    /// base models use even where their tokenizer ships a chat template (the paper prompts its
    /// base variants without one; Qwen2.5-7B's base tokenizer carries ChatML).
    public static let plainTemplateName = "plain"

    /// The chat renderer: from `file` when given (the documented simple format, or `plain`
    /// for iap's plain template), else chosen from the model's own template.
    public func chatTemplate(file: String? = nil) throws(TokenizerError) -> ChatTemplate {
        if file == Self.plainTemplateName { return ChatTemplate(family: .plain(begin: try plainTemplateBegin())) }
        if let file { return ChatTemplate(family: .custom(try ChatTemplateFile.load(file))) }
        guard let text = chatTemplateText else { return ChatTemplate(family: .plain(begin: try plainTemplateBegin())) }
        return try ChatTemplate.detect(text, source: path)
    }

    /// The chat template text a folder without weights of its own carries with its tokenizer
    /// files — a LoRA checkpoint, whose template is the one training used — nil when none.
    public static func chatTemplateText(inFolder folder: String) throws(ModelFileError) -> String? {
        let settingsPath = folder + "/tokenizer_config.json"
        let settings = access(settingsPath, F_OK) == 0 ? try readJSON(TokenizerSettings.self, settingsPath) : nil
        return try folderChatTemplate(folder, settings: settings)
    }

    /// What the plain template starts with: the BOS token's text when the tokenizer puts
    /// one in front of a text (it renders the whole prompt, so it writes it itself).
    /// A GGUF says it in its metadata (the tokenizer loader's rule), without building the
    /// tokenizer (seconds for Gemma's 262k-token vocabulary, which the caller loads anyway).
    func plainTemplateBegin() throws(TokenizerError) -> String {
        if case .gguf(let file) = weights {
            let sentencePiece = file["tokenizer.ggml.model"]?.stringValue == "llama"
            let flag = file["tokenizer.ggml.add_bos_token"]
            guard sentencePiece ? flag != .bool(false) : flag == .bool(true), let bos = file["tokenizer.ggml.bos_token_id"]?.intValue,
                let tokens = file["tokenizer.ggml.tokens"]?.arrayValue, bos >= 0, bos < tokens.count
            else { return "" }
            return tokens[bos].stringValue ?? ""
        }
        let tokenizer = try loadTokenizer()
        guard let bos = tokenizer.bosId, tokenizer.encode("", addSpecialTokens: true).first == bos else { return "" }
        return tokenizer.token(bos) ?? ""
    }

    /// Tensor names with their stored type and PyTorch-order shape.
    public var tensorSummaries: [(name: String, type: String, shape: [Int])] {
        switch weights {
        case .gguf(let file): file.tensors.map { ($0.name, "\($0.type)".uppercased(), $0.shape) }
        case .safetensors(let checkpoint):
            checkpoint.names.compactMap { name in checkpoint.entry(name).map { (name, $0.dtype, $0.shape) } }
        }
    }
}

import ArgumentParser
import CommandSupport
import Hummingbird
import ModelFormats
import Serving
import Torch
import Transformers

/// `iap serve`: an OpenAI-compatible server over a local model.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a causal LM over an OpenAI-compatible API (/v1/models, /v1/chat/completions with SSE streaming).")

    @Option(help: "A known model name or a path to a .gguf file or Hugging Face folder.")
    var model = "smollm2-135m-instruct"

    @Option(help: "Name the API reports and requests must use (default: the --model value).")
    var servedName: String?

    @Option(help: "Address to listen on (loopback by default; 0.0.0.0 exposes the server).")
    var host = "127.0.0.1"

    @Option(help: "Port.")
    var port = 8000

    @Option(help: "Largest request body accepted, in bytes.")
    var maxRequestBytes = 1 << 20

    @Option(help: "max_tokens when a request gives none.")
    var defaultMaxTokens = 512

    @Option(help: "Most requests generated together in one batch.")
    var maxBatch = 16

    @Option(help: "A chat template file (docs/chat-templates.md) instead of the model's own.")
    var chatTemplate: String?

    @Option(help: "Model dtype: float32, bfloat16 or float16.")
    var dtype = "float32"

    @Option(help: "Device: cpu or cuda[:N].")
    var device = "cpu"

    func run() async throws {
        let runtime = try CLI.runtime(dtype: dtype, device: device)
        Torch.keepFreedMemory()
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(model, chatTemplate: chatTemplate, dtype: runtime.dtype, device: runtime.device)
        var settings = OpenAIServer.Settings(modelName: servedName ?? model)
        settings.host = host
        settings.port = port
        settings.maxRequestBytes = maxRequestBytes
        settings.defaultMaxTokens = defaultMaxTokens
        settings.maxBatch = maxBatch
        let server = OpenAIServer(model: lm, tokenizer: tokenizer, template: template, settings: settings)
        let name = settings.modelName
        let address = settings.host
        let app = server.application { port in CLI.note("iap serve: \(name) on http://\(address):\(port)/v1") }
        try await app.runService()
    }
}

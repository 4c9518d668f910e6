import ArgumentParser
import Foundation
import CommandSupport
import Hummingbird
import IAPCore
import OpenAIWire
import ModelFormats
import Serving
import Torch
import Transformers

/// `iap serve`: an OpenAI-compatible server over a local model.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a causal LM over an OpenAI-compatible API (/v1/models, /v1/chat/completions with SSE streaming).")

    @OptionGroup var model: ModelOptions

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

    @Option(
        help:
            "continuous: a request joins the running batch as soon as there is room and is answered as soon as it ends; static: it waits until the whole batch has finished."
    )
    var batching: Batching = .continuous

    @Option(
        help:
            "MiB of prompts' keys and values kept so that a request whose prompt begins like an earlier one's (a shared system prompt, a judge's rubric) prefills only the rest; 0 turns prefix caching off."
    )
    var prefixCacheMib = 256

    @Option(
        help:
            "Chunked prefill: while other requests decode, a joining prompt runs at most this many prompt tokens per decoding step, so a long prompt does not stall the running streams; 0 prefills each prompt whole."
    )
    var prefillChunk = 512

    @Option(help: "Most new tokens one completion may ask for (max_tokens above it: 400).")
    var maxTokensLimit = 8192

    @Option(help: "Most completions (n) one request may ask for.")
    var maxN = 16

    @Option(help: "Requests that may wait for the model; beyond it: 503 with Retry-After.")
    var maxWaiting = 256

    @Option(help: "Seconds a connection may stay without sending a complete request head.")
    var idleTimeout = 60.0

    @Option(help: "Seconds a client has to send a request body (then 408).")
    var bodyTimeout = 30.0

    @Option(help: "A name the Host header may carry besides IP addresses and localhost (repeatable; * allows any).")
    var allowedHost: [String] = []

    @Option(help: "Require `Authorization: Bearer KEY` (default: the IAP_SERVE_API_KEY environment variable, if set).")
    var apiKey: String?

    @Option(help: "A chat template file (docs/chat-templates.md) instead of the model's own, or 'plain' for iap's plain template.")
    var chatTemplate: String?

    @OptionGroup var runtime: RuntimeOptions

    @Option(
        help:
            "Decoding steps: eager; static (the step CUDA graphs record, run eagerly); cuda-graphs (needs --device cuda and libiap_cuda_graphs.so from make gpu-bundle beside iap or at $IAP_CUDA_GRAPHS_PLUGIN)."
    )
    var decodeSteps: DecodeSteps = .eager

    @OptionGroup var scaffolding: ScaffoldOptions

    func validate() throws {
        try decodeSteps.validate(device: runtime.device.description)
        for (flag, value) in [
            ("--max-tokens-limit", maxTokensLimit), ("--max-n", maxN), ("--max-waiting", maxWaiting), ("--max-batch", maxBatch),
            ("--max-request-bytes", maxRequestBytes), ("--default-max-tokens", defaultMaxTokens),
        ] {
            try FlagCheck.atLeast(flag, value, 1)
        }
        try FlagCheck.atLeast("--prefix-cache-mib", prefixCacheMib, 0)
        try FlagCheck.atLeast("--prefill-chunk", prefillChunk, 0)
        guard prefixCacheMib <= 1 << 30 else {
            throw ValidationError("--prefix-cache-mib must be at most \(1 << 30) (got \(prefixCacheMib))")
        }
        try FlagCheck.seconds("--idle-timeout", idleTimeout)
        try FlagCheck.seconds("--body-timeout", bodyTimeout)
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0…65535 (got \(port))") }
    }

    func run() async throws {
        let device = try runtime.resolvedDevice()
        try decodeSteps.check(resolved: device, asked: runtime.device)
        Torch.keepFreedMemory()
        let (_, tokenizer, lm, template) = try CLI.openLanguageModel(
            model.model, adapter: model.adapter, chatTemplate: chatTemplate, dtype: runtime.dtype.dtype, device: device)
        var settings = OpenAIServer.Settings(modelName: servedName ?? model.model)
        settings.decodeSteps = decodeSteps
        settings.host = host
        settings.port = port
        settings.maxRequestBytes = maxRequestBytes
        settings.defaultMaxTokens = defaultMaxTokens
        settings.maxBatch = maxBatch
        settings.batching = batching
        settings.prefixCacheBytes = prefixCacheMib << 20
        settings.prefillChunkTokens = prefillChunk > 0 ? prefillChunk : nil
        settings.maxTokensLimit = maxTokensLimit
        settings.maxN = maxN
        settings.maxWaiting = maxWaiting
        settings.idleTimeout = idleTimeout
        settings.bodyTimeout = bodyTimeout
        let key = apiKey ?? ProcessInfo.processInfo.environment["IAP_SERVE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        settings.screen = RequestScreen(allowedHosts: allowedHost, apiKey: key)
        settings.scaffold = try scaffolding.format(model: model.adapter ?? model.model).blockScaffold
        settings.summarizeReply = { RolloutSummary(reply: $0) }
        let server = OpenAIServer(model: lm, tokenizer: tokenizer, template: template, settings: settings)
        let name = settings.modelName
        let address = settings.host
        try await server.run { port in CLI.note("iap serve: \(name) on http://\(address):\(port)/v1") }
    }
}

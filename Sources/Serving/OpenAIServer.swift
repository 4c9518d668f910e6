import Hummingbird
import Logging
import ModelFormats
import NIOCore
import JSONFiles
import ServiceLifecycle
import UnixSignals
import OpenAIWire
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

/// `iap serve`: an OpenAI-compatible chat-completions server over one of our models.
///
/// Routes: `GET /v1/models`, `POST /v1/chat/completions` (messages, n, temperature — 0 is
/// greedy —, top_p, max_tokens, stop, seed, stream as server-sent events; usage counts),
/// `GET /health`. Errors are OpenAI-shaped (`{"error": {"message", "type", "param"}}`).
/// Concurrent requests queue and are batched by `GenerationQueue`; a failing request never
/// takes the server down.
///
/// Limits, each configurable (`Settings`): body size (413), time to send the head (idle
/// timeout: the connection is closed) and the body (408), max_tokens and n per request
/// (400), requests waiting (503 with Retry-After). `RequestScreen` checks Host,
/// Content-Type and the API key first. A streaming client that goes away stops its
/// generation at the next token; SIGTERM/SIGINT (`run`) ends in-flight requests with an
/// error, then the server stops.
public final class OpenAIServer: Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 8000
        public var modelName: String
        public var maxRequestBytes = 1 << 20
        public var defaultMaxTokens = 512
        /// The most new tokens one completion may ask for.
        public var maxTokensLimit = 8192
        /// The most completions (`n`) one request may ask for.
        public var maxN = 16
        public var maxBatch = 16
        /// Whether requests join a running batch (`GenerationQueue`).
        public var batching = Batching.continuous
        /// Bytes of prompts' keys and values kept for prefix reuse (`PromptPrefixCache`): a
        /// request whose prompt begins like an earlier one's prefills only the rest. 0: off.
        public var prefixCacheBytes = 256 << 20
        /// Chunked prefill: while rows decode, joining prompts run at most this many prompt
        /// tokens of prefill per decoding step (`GenerationOptions.prefillChunkTokens`), so a
        /// long prompt does not stall the running streams. nil: a prompt prefills whole.
        public var prefillChunkTokens: Int? = 512
        /// How the decoding steps run (`GenerationOptions.decodeSteps`).
        public var decodeSteps = DecodeSteps.eager
        /// Requests that may wait for the model; more get 503.
        public var maxWaiting = 256
        /// Seconds a connection may stay without sending a complete request head (idle
        /// keep-alive connections and slowly sent headers are closed).
        public var idleTimeout = 60.0
        /// Seconds a client has to send a request body.
        public var bodyTimeout = 30.0
        public var screen = RequestScreen()
        /// Scaffolded replies (a model trained with `rollout.scaffold: tags`): the sampler
        /// writes the IAP tags of every completion.
        public var scaffold: BlockScaffold?
        /// The `iap` field of a reply: what an IAP rollout inferred (`iap serve` passes the
        /// method's tag parser, `RolloutSummary(reply:)`); nil, or nil for a reply: no field.
        public var summarizeReply: (@Sendable (String) -> RolloutSummary?)?
        public init(modelName: String) { self.modelName = modelName }
    }

    public let settings: Settings
    public let queue: GenerationQueue
    let tokenizer: Tokenizer
    let template: ChatTemplate
    let contextLength: Int

    public init(model: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, settings: Settings) {
        self.settings = settings
        self.queue = GenerationQueue(
            model: model, tokenizer: tokenizer, maxBatch: settings.maxBatch, maxWaiting: settings.maxWaiting, batching: settings.batching,
            prefixCacheBytes: settings.prefixCacheBytes)
        self.tokenizer = tokenizer
        self.template = template
        self.contextLength = model.config.maxPositions
    }

    /// The Hummingbird application; `onRunning(port)` is called once it listens.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        var screen = settings.screen
        screen.allowedHosts.append(settings.host)
        router.middlewares.add(RequestScreenMiddleware(screen: screen))
        router.get("health") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok"))) }
        router.get("v1/models") { [settings] _, _ in OpenAIServer.json(ModelList(names: [settings.modelName])) }
        router.post("v1/chat/completions") { [self] request, _ in
            do {
                return try await self.chatCompletions(request)
            } catch let error as APIError {
                return OpenAIServer.json(error.body, status: error.status, retryAfter: error.retryAfter)
            } catch {
                return OpenAIServer.json(APIError(status: 500, type: "server_error", "\(error)").body, status: 500)
            }
        }
        return Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(settings.idleTimeout * 1000)))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "iap"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) })
    }

    /// Serves until SIGTERM or SIGINT (or cancellation). On a signal the generation queue
    /// stops first — running and waiting requests end with an error at their next token —
    /// and then the HTTP server drains, so stopping never waits for long generations.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await serviceGroup(signals: [.sigterm, .sigint], onRunning: onRunning).run()
    }

    /// The server and the queue's stopper as one service group; `triggerGracefulShutdown()`
    /// on it does what a signal does.
    public func serviceGroup(signals: [UnixSignal], onRunning: @escaping @Sendable (Int) async -> Void) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: application(onRunning: onRunning)),
                    .init(service: QueueStopper(queue: queue)),
                ],
                gracefulShutdownSignals: signals, logger: Logger(label: "iap-serve")))
    }

    /// Shut down before the HTTP server (a service group stops its services last to first).
    struct QueueStopper: Service {
        let queue: GenerationQueue
        func run() async throws {
            try? await gracefulShutdown()
            await queue.shutdown()
        }
    }

    /// The assistant message; when `summary` makes one of the reply (an IAP rollout), the
    /// extra field `iap` carries its intents, answer and format verdict, so clients get the
    /// inferred intents without parsing tags (OpenAI clients ignore it).
    static func message(_ text: String, summary: ((String) -> RolloutSummary?)?) -> AssistantMessage {
        AssistantMessage(content: text, iap: summary?(text))
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200, retryAfter: Int? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let text = (try? JSONFile.encode(value)) ?? #"{"error": {"message": "the reply could not be encoded"}}"#
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func chatCompletions(_ incoming: Request) async throws -> Response {
        let chat = try await readChat(incoming)
        let rendered: RenderedChat
        do { rendered = try template.render(chat.messages, addGenerationPrompt: true) } catch {
            throw APIError(parameter: "messages", "\(error)")
        }
        let prompt = tokenizer.encode(rendered)
        let room = contextLength - prompt.count
        guard room > 0 else {
            throw APIError(parameter: "messages", "the prompt has \(prompt.count) tokens; the model's context is \(contextLength)")
        }
        let options = generationOptions(chat, room: room)
        let id = "chatcmpl-\(UInt64.random(in: 0...UInt64.max))"
        let created = Int(time(nil))
        if chat.stream {
            return streamingResponse(prompt: prompt, options: options, id: id, created: created, samples: chat.n)
        }
        let out = try await submit(prompt: prompt, options: options)
        let completionTokens = out.reduce(0) { $0 + $1.tokens.count }
        let choices = out.enumerated().map { i, s in
            ChatCompletion.Choice(
                index: i, message: OpenAIServer.message(s.text, summary: settings.summarizeReply), finishReason: s.finishReason.rawValue)
        }
        return OpenAIServer.json(
            ChatCompletion(
                id: id, created: created, model: settings.modelName, choices: choices,
                usage: Usage(promptTokens: prompt.count, completionTokens: completionTokens)))
    }

    /// The body (within `maxRequestBytes` and `bodyTimeout`), decoded and checked against the
    /// server's limits.
    func readChat(_ incoming: Request) async throws -> ChatCompletionRequest {
        let body = incoming.body
        let (limit, seconds) = (settings.maxRequestBytes, settings.bodyTimeout)
        let buffer: ByteBuffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do { return try await body.collect(upTo: limit) } catch {
                    throw APIError(status: 413, "the request body exceeds \(limit) bytes")
                }
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw APIError(status: 408, "the request body did not arrive within \(Int(seconds)) s")
            }
            return body
        }
        let chat = try ChatCompletionRequest.parse(Array(buffer: buffer), maxN: settings.maxN)
        if let asked = chat.model, asked != settings.modelName {
            throw APIError(status: 404, parameter: "model", "model \(asked) is not served here (serving \(settings.modelName))")
        }
        if let asked = chat.maxTokens, asked > settings.maxTokensLimit {
            throw APIError(parameter: "max_tokens", "max_tokens is \(asked); this server allows at most \(settings.maxTokensLimit)")
        }
        return chat
    }

    /// Decoding settings of a request; a request without a seed gets a random one (seeds are
    /// per request in a batch, so this costs no batching).
    func generationOptions(_ chat: ChatCompletionRequest, room: Int) -> GenerationOptions {
        var options = GenerationOptions()
        options.samplesPerPrompt = chat.n
        options.greedy = chat.temperature == 0
        options.temperature = chat.temperature == 0 ? 1 : chat.temperature
        options.topP = chat.topP
        options.maxNewTokens = min(chat.maxTokens ?? min(settings.defaultMaxTokens, settings.maxTokensLimit), room)
        options.stopStrings = chat.stop
        options.addStops(of: template)
        options.seed = chat.seed ?? UInt64.random(in: 0...UInt64.max)
        options.scaffold = settings.scaffold
        options.prefillChunkTokens = settings.prefillChunkTokens
        options.decodeSteps = settings.decodeSteps
        return options
    }

    /// `queue.submit` with its refusals as API errors (503 with Retry-After when full or
    /// stopping).
    func submit(
        prompt: [Int], options: GenerationOptions, ticket: GenerationTicket = GenerationTicket(),
        onText: (@Sendable (Int, String) -> Void)? = nil
    ) async throws -> [GeneratedSequence] {
        do { return try await queue.submit(prompt: prompt, options: options, ticket: ticket, onText: onText) } catch let refusal
            as GenerationQueue.Refusal
        {
            var error: APIError
            switch refusal {
            case .full(let waiting):
                error = APIError(status: 503, type: "server_busy", "\(waiting) requests are waiting for the model; retry later")
                error.retryAfter = 2
            case .shuttingDown:
                error = APIError(status: 503, type: "server_shutting_down", "the server is stopping")
            case .cancelled:
                error = APIError(status: 499, type: "cancelled", "the request was cancelled")
            }
            throw error
        }
    }

    /// Server-sent events: one `chat.completion.chunk` per text piece, a last chunk per
    /// choice with its finish reason and the usage, then `data: [DONE]`. When the client
    /// goes away (a write fails, the response stream ends) the ticket is cancelled and the
    /// generation stops at its next token.
    func streamingResponse(prompt: [Int], options: GenerationOptions, id: String, created: Int, samples: Int) -> Response {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let ticket = GenerationTicket()
        continuation.onTermination = { _ in ticket.cancel() }
        let modelName = settings.modelName
        @Sendable func event(_ choice: ChatCompletionChunk.Choice, usage: Usage? = nil) -> String {
            let chunk = ChatCompletionChunk(id: id, created: created, model: modelName, choices: [choice], usage: usage)
            return "data: " + ((try? JSONFile.encode(chunk)) ?? "{}") + "\n\n"
        }
        Task { [self] in
            for i in 0..<samples { continuation.yield(event(.init(index: i, delta: .init(role: "assistant", content: "")))) }
            do {
                let out = try await submit(prompt: prompt, options: options, ticket: ticket) { index, piece in
                    continuation.yield(event(.init(index: index, delta: .init(content: piece))))
                }
                let usage = Usage(promptTokens: prompt.count, completionTokens: out.reduce(0) { $0 + $1.tokens.count })
                for (i, s) in out.enumerated() {
                    continuation.yield(
                        event(
                            .init(index: i, delta: .init(), finishReason: s.finishReason.rawValue), usage: i == out.count - 1 ? usage : nil)
                    )
                }
            } catch {
                let body = (error as? APIError)?.body ?? APIError(status: 500, type: "server_error", "\(error)").body
                continuation.yield("data: " + ((try? JSONFile.encode(body)) ?? "{}") + "\n\n")
            }
            continuation.yield("data: [DONE]\n\n")
            continuation.finish()
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    for await event in stream { try await writer.write(ByteBuffer(string: event)) }
                    try await writer.finish(nil)
                } catch {
                    ticket.cancel()
                    throw error
                }
            })
    }
}

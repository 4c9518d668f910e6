import Hummingbird
import ModelFormats
import NIOCore
import SafeTensors
import Transformers
import IAPCore

#if canImport(Glibc)
    import Glibc
#endif

/// `iap serve`: an OpenAI-compatible chat-completions server over one of our models.
///
/// Routes: `GET /v1/models`, `POST /v1/chat/completions` (messages, n, temperature — 0 is
/// greedy —, top_p, max_tokens, stop, seed, stream as server-sent events; usage counts),
/// `GET /health`. Errors are OpenAI-shaped (`{"error": {"message", "type", "param"}}`).
/// Bodies over `maxRequestBytes` are refused with 413. Concurrent requests queue and are
/// batched by `GenerationQueue`; a failing request never takes the server down.
public final class OpenAIServer: Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        public var port = 8000
        public var modelName: String
        public var maxRequestBytes = 1 << 20
        public var defaultMaxTokens = 512
        public var maxBatch = 16
        public init(modelName: String) { self.modelName = modelName }
    }

    public let settings: Settings
    let queue: GenerationQueue
    let tokenizer: Tokenizer
    let template: ChatTemplate
    let contextLength: Int

    public init(model: CausalLM, tokenizer: Tokenizer, template: ChatTemplate, settings: Settings) {
        self.settings = settings
        self.queue = GenerationQueue(model: model, tokenizer: tokenizer, maxBatch: settings.maxBatch)
        self.tokenizer = tokenizer
        self.template = template
        self.contextLength = model.config.maxPositions
    }

    /// The Hummingbird application; `onRunning(port)` is called once it listens.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("health") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok"))) }
        router.get("v1/models") { [settings] _, _ in
            OpenAIServer.json(.object([
                ("object", .string("list")),
                ("data", .array([.object([
                    ("id", .string(settings.modelName)), ("object", .string("model")), ("created", .int(0)), ("owned_by", .string("iap")),
                ])])),
            ]))
        }
        router.post("v1/chat/completions") { [self] request, _ in
            do {
                return try await self.chatCompletions(request)
            } catch let error as APIError {
                return OpenAIServer.json(error.body, status: error.status)
            } catch {
                return OpenAIServer.json(APIError(status: 500, type: "server_error", "\(error)").body, status: 500)
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "iap"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) })
    }

    /// The assistant message; when the reply is an IAP rollout (it has an `<intent>` block),
    /// the extra field `iap` carries `{"intents": [...], "answer": ..., "valid": ..., "problem": ...}`
    /// so clients get the inferred intents without parsing tags (OpenAI clients ignore it).
    static func message(_ text: String) -> JSONValue {
        var members: [(String, JSONValue)] = [("role", .string("assistant")), ("content", .string(text))]
        let parsed = RolloutParser.parse(text)
        if parsed.intent != nil {
            members.append(("iap", .object([
                ("intents", .array(parsed.intents.map { .string($0) })), ("answer", parsed.answer.map { .string($0) } ?? .null),
                ("valid", .bool(parsed.isValid)), ("problem", parsed.problem.map { .string($0) } ?? .null),
            ])))
        }
        return .object(members)
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.serialized)))
    }

    func chatCompletions(_ incoming: Request) async throws -> Response {
        var request = incoming
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: settings.maxRequestBytes) } catch {
            throw APIError(status: 413, "the request body exceeds \(settings.maxRequestBytes) bytes")
        }
        let body: JSONValue
        do { body = try JSONValue.parse(String(buffer: buffer)) } catch { throw APIError("the body is not valid JSON: \(error)") }
        let chat = try ChatCompletionRequest.parse(body)
        if let asked = chat.model, asked != settings.modelName {
            throw APIError(status: 404, parameter: "model", "model \(asked) is not served here (serving \(settings.modelName))")
        }
        let rendered: RenderedChat
        do { rendered = try template.render(chat.messages, addGenerationPrompt: true) } catch {
            throw APIError(parameter: "messages", "\(error)")
        }
        let prompt = tokenizer.encode(rendered)
        let room = contextLength - prompt.count
        guard room > 0 else {
            throw APIError(parameter: "messages", "the prompt has \(prompt.count) tokens; the model's context is \(contextLength)")
        }
        var options = GenerationOptions()
        options.samplesPerPrompt = chat.n
        options.greedy = chat.temperature == 0
        options.temperature = chat.temperature == 0 ? 1 : chat.temperature
        options.topP = chat.topP
        options.maxNewTokens = min(chat.maxTokens ?? settings.defaultMaxTokens, room)
        options.stopStrings = chat.stop
        options.seed = chat.seed ?? UInt64.random(in: 0...UInt64.max)
        let id = "chatcmpl-\(UInt64.random(in: 0...UInt64.max))"
        let created = Int(time(nil))
        if chat.stream {
            return streamingResponse(prompt: prompt, options: options, id: id, created: created, samples: chat.n)
        }
        let out = try await queue.submit(prompt: prompt, options: options)
        let completionTokens = out.reduce(0) { $0 + $1.tokens.count }
        return OpenAIServer.json(.object([
            ("id", .string(id)), ("object", .string("chat.completion")), ("created", .int(created)), ("model", .string(settings.modelName)),
            ("choices", .array(out.enumerated().map { i, s in
                .object([
                    ("index", .int(i)), ("message", OpenAIServer.message(s.text)),
                    ("finish_reason", .string(s.finishReason.rawValue)),
                ])
            })),
            ("usage", .object([
                ("prompt_tokens", .int(prompt.count)), ("completion_tokens", .int(completionTokens)),
                ("total_tokens", .int(prompt.count + completionTokens)),
            ])),
        ]))
    }

    /// Server-sent events: one `chat.completion.chunk` per text piece, a last chunk per
    /// choice with its finish reason and the usage, then `data: [DONE]`.
    func streamingResponse(prompt: [Int], options: GenerationOptions, id: String, created: Int, samples: Int) -> Response {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let modelName = settings.modelName
        @Sendable func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> String {
            var members: [(String, JSONValue)] = [
                ("id", .string(id)), ("object", .string("chat.completion.chunk")), ("created", .int(created)),
                ("model", .string(modelName)), ("choices", .array(choices)),
            ]
            if let usage { members.append(("usage", usage)) }
            return "data: " + JSONValue.object(members).serialized + "\n\n"
        }
        let queue = self.queue
        Task {
            for i in 0..<samples {
                continuation.yield(chunk([.object([("index", .int(i)), ("delta", .object([("role", .string("assistant")), ("content", .string(""))])), ("finish_reason", .null)])]))
            }
            do {
                let out = try await queue.submit(prompt: prompt, options: options) { index, piece in
                    continuation.yield(chunk([.object([("index", .int(index)), ("delta", .object([("content", .string(piece))])), ("finish_reason", .null)])]))
                }
                let completionTokens = out.reduce(0) { $0 + $1.tokens.count }
                let usage = JSONValue.object([
                    ("prompt_tokens", .int(prompt.count)), ("completion_tokens", .int(completionTokens)),
                    ("total_tokens", .int(prompt.count + completionTokens)),
                ])
                for (i, s) in out.enumerated() {
                    continuation.yield(chunk([.object([("index", .int(i)), ("delta", .object([])), ("finish_reason", .string(s.finishReason.rawValue))])],
                                             usage: i == out.count - 1 ? usage : nil))
                }
            } catch {
                continuation.yield("data: " + APIError(status: 500, type: "server_error", "\(error)").body.serialized + "\n\n")
            }
            continuation.yield("data: [DONE]\n\n")
            continuation.finish()
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            for await event in stream { try await writer.write(ByteBuffer(string: event)) }
            try await writer.finish(nil)
        })
    }
}

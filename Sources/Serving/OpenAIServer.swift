import Hummingbird
import ModelFormats
import NIOCore
import JSONFiles
import OpenAIWire
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
        router.get("v1/models") { [settings] _, _ in OpenAIServer.json(ModelList(names: [settings.modelName])) }
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
    /// the extra field `iap` carries its intents, answer and format verdict, so clients get
    /// the inferred intents without parsing tags (OpenAI clients ignore it).
    static func message(_ text: String) -> AssistantMessage {
        let parsed = RolloutParser.parse(text)
        guard parsed.intent != nil else { return AssistantMessage(content: text) }
        return AssistantMessage(
            content: text, iap: RolloutSummary(intents: parsed.intents, answer: parsed.answer, valid: parsed.isValid, problem: parsed.problem))
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let text = (try? JSONFile.encode(value)) ?? #"{"error": {"message": "the reply could not be encoded"}}"#
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func chatCompletions(_ incoming: Request) async throws -> Response {
        var request = incoming
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: settings.maxRequestBytes) } catch {
            throw APIError(status: 413, "the request body exceeds \(settings.maxRequestBytes) bytes")
        }
        let chat = try ChatCompletionRequest.parse(Array(buffer: buffer))
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
        let choices = out.enumerated().map { i, s in
            ChatCompletion.Choice(index: i, message: OpenAIServer.message(s.text), finishReason: s.finishReason.rawValue)
        }
        return OpenAIServer.json(ChatCompletion(
            id: id, created: created, model: settings.modelName, choices: choices,
            usage: Usage(promptTokens: prompt.count, completionTokens: completionTokens)))
    }

    /// Server-sent events: one `chat.completion.chunk` per text piece, a last chunk per
    /// choice with its finish reason and the usage, then `data: [DONE]`.
    func streamingResponse(prompt: [Int], options: GenerationOptions, id: String, created: Int, samples: Int) -> Response {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let modelName = settings.modelName
        @Sendable func event(_ choice: ChatCompletionChunk.Choice, usage: Usage? = nil) -> String {
            let chunk = ChatCompletionChunk(id: id, created: created, model: modelName, choices: [choice], usage: usage)
            return "data: " + ((try? JSONFile.encode(chunk)) ?? "{}") + "\n\n"
        }
        let queue = self.queue
        Task {
            for i in 0..<samples { continuation.yield(event(.init(index: i, delta: .init(role: "assistant", content: "")))) }
            do {
                let out = try await queue.submit(prompt: prompt, options: options) { index, piece in
                    continuation.yield(event(.init(index: index, delta: .init(content: piece))))
                }
                let usage = Usage(promptTokens: prompt.count, completionTokens: out.reduce(0) { $0 + $1.tokens.count })
                for (i, s) in out.enumerated() {
                    continuation.yield(event(.init(index: i, delta: .init(), finishReason: s.finishReason.rawValue), usage: i == out.count - 1 ? usage : nil))
                }
            } catch {
                let body = APIError(status: 500, type: "server_error", "\(error)").body
                continuation.yield("data: " + ((try? JSONFile.encode(body)) ?? "{}") + "\n\n")
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

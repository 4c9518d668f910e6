import AsyncHTTPClient
import ModelFormats
import NIOCore
import NIOHTTP1
import FileIO
import JSONFiles
import OpenAIWire

#if canImport(Glibc)
    import Glibc
#endif

/// Any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, `iap
/// serve`) as a judge backend.
///
/// - Several base URLs are used round-robin; one that fails to connect is skipped for a
///   while.
/// - At most `concurrency` requests are in flight; each has a deadline (`timeout`).
/// - 429 (honouring Retry-After), 5xx, timeouts and connection errors are retried with
///   exponential backoff and jitter, up to `maxAttempts`; other 4xx are not (they would fail
///   again) and come back as the call's error.
/// - The API key is read from an environment variable by name (`apiKeyVariable`, else
///   `OPENAI_API_KEY` when set, as OpenAI's own clients do); it is never printed or written
///   anywhere (the identity names the variable, not the key).
public final class OpenAIChatBackend: ChatBackend, @unchecked Sendable {
    public struct Settings: Sendable {
        public var baseURLs: [String]
        public var model: String
        public var apiKeyVariable: String?
        public var concurrency = 16
        public var timeout: Double = 120
        public var maxAttempts = 6
        /// Base of the exponential backoff, in seconds.
        public var backoff: Double = 0.5
        public init(baseURLs: [String], model: String) {
            self.baseURLs = baseURLs
            self.model = model
        }
    }

    public let settings: Settings
    private let client: HTTPClient
    private let apiKey: String?
    private let gate: AsyncSemaphore
    private let rotation = RoundRobin()

    public init(settings: Settings) throws(JudgeConfigurationError) {
        guard !settings.baseURLs.isEmpty else { throw JudgeConfigurationError("--judge-url: give at least one base URL") }
        for url in settings.baseURLs { try Self.check(url) }
        guard settings.concurrency >= 1, settings.maxAttempts >= 1, settings.timeout > 0 else {
            throw JudgeConfigurationError("judge concurrency, attempts and timeout must be positive")
        }
        self.settings = settings
        if let name = settings.apiKeyVariable ?? Self.conventionalKeyVariable() {
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else {
                throw JudgeConfigurationError("the API key variable \(name) is not set")
            }
            apiKey = value
        } else {
            apiKey = nil
        }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.concurrency)
        configuration.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(settings.timeout * 1000)))
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        gate = AsyncSemaphore(settings.concurrency)
    }

    /// `OPENAI_API_KEY` when it is set and not empty: what every OpenAI-compatible client
    /// sends when no other variable is named.
    static func conventionalKeyVariable() -> String? {
        guard let value = getenv("OPENAI_API_KEY"), value.pointee != 0 else { return nil }
        return "OPENAI_API_KEY"
    }

    // Non-blocking: deinit may run on one of the client's own event-loop threads.
    deinit { client.shutdown { _ in } }

    public var identity: String { "openai:\(settings.model)" }

    /// Total calls made and retries, for reports.
    public let counters = Counters()

    public func complete(_ conversations: [[ChatMessage]], temperature: Double, topP: Double, maxTokens: Int) async
        -> [Result<String, JudgeCallError>]
    {
        await withTaskGroup(of: (Int, Result<String, JudgeCallError>).self) { group in
            for (i, conversation) in conversations.enumerated() {
                group.addTask {
                    await self.gate.acquire()
                    defer { Task { await self.gate.release() } }
                    return (i, await self.call(conversation, temperature: temperature, topP: topP, maxTokens: maxTokens))
                }
            }
            var out = [Result<String, JudgeCallError>](repeating: .failure(JudgeCallError("not run")), count: conversations.count)
            for await (i, result) in group { out[i] = result }
            return out
        }
    }

    /// The request body OpenAI's API expects.
    func body(_ conversation: [ChatMessage], temperature: Double, topP: Double, maxTokens: Int) throws(FileIOError) -> String {
        try JSONFile.encode(
            ChatCompletionRequestBody(
                model: settings.model, messages: conversation.map { WireMessage(role: $0.role.rawValue, content: $0.content) },
                temperature: temperature, topP: topP, n: 1, maxTokens: maxTokens))
    }

    /// `url` with any `user:password@` replaced by `***@`, for messages and files.
    public static func withoutCredentials(_ url: String) -> String {
        guard let slashes = url.indices.first(where: { url[$0...].hasPrefix("://") }) else { return url }
        let start = url.index(slashes, offsetBy: 3)
        let authority = url[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@") else { return url }
        return String(url[..<start]) + "***" + String(url[at...])
    }

    /// Refuses a base URL the HTTP client could not call, before the first call (it used to be
    /// tried once per item and reported per item as `HTTPClientError.invalidURL`).
    static func check(_ url: String) throws(JudgeConfigurationError) {
        let shown = "--judge-url \(withoutCredentials(url))"
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw JudgeConfigurationError(shown + ": must start with http:// or https://")
        }
        // Read here first: the client reads "http:///v1" as having a host, and traps on a
        // port past 65535 ("Not enough bits") instead of throwing.
        let authority = url.drop { $0 != ":" }.dropFirst(3).prefix { $0 != "/" }
        let hostAndPort = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        let afterHost = hostAndPort.hasPrefix("[") ? hostAndPort.drop { $0 != "]" }.dropFirst() : hostAndPort.drop { $0 != ":" }
        let hostLength = hostAndPort.count - afterHost.count
        let port = afterHost.dropFirst()
        guard hostLength > 0, afterHost.isEmpty || (afterHost.first == ":" && Int(port).map { (1...65535).contains($0) } == true) else {
            throw JudgeConfigurationError(shown + ": needs a host, and a port in 1…65535 if any")
        }
        do { _ = try HTTPClient.Request(url: url.hasSuffix("/") ? url + "chat/completions" : url + "/chat/completions") } catch {
            throw JudgeConfigurationError(shown + ": not a valid URL (a scheme, a host, an optional port and path, no spaces)")
        }
    }

    /// A problem as it may be printed or stored: no credentials of the judge URLs, and not the
    /// API key (a server may echo it back in an error body).
    func scrubbed(_ text: String) -> String {
        var out = text
        for url in settings.baseURLs where Self.withoutCredentials(url) != url {
            out = out.replacingAll(url, with: Self.withoutCredentials(url))
        }
        if let apiKey, apiKey.count >= 4 { out = out.replacingAll(apiKey, with: "[API key]") }
        return out
    }

    func call(_ conversation: [ChatMessage], temperature: Double, topP: Double, maxTokens: Int) async -> Result<String, JudgeCallError> {
        switch await attempt(conversation, temperature: temperature, topP: topP, maxTokens: maxTokens) {
        case .success(let text): return .success(text)
        case .failure(let error): return .failure(JudgeCallError(scrubbed(error.message)))
        }
    }

    /// The request with its retries; failures as they come (`call` scrubs them).
    private func attempt(_ conversation: [ChatMessage], temperature: Double, topP: Double, maxTokens: Int) async -> Result<
        String, JudgeCallError
    > {
        let payload: String
        do { payload = try body(conversation, temperature: temperature, topP: topP, maxTokens: maxTokens) } catch {
            return .failure(JudgeCallError("the request could not be written: \(error.reason)"))
        }
        var lastProblem = "no attempt made"
        for attempt in 0..<settings.maxAttempts {
            if Task.isCancelled { return .failure(JudgeCallError("cancelled")) }
            let base = await rotation.next(settings.baseURLs)
            let url = base.hasSuffix("/") ? base + "chat/completions" : base + "/chat/completions"
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            request.body = .bytes(ByteBuffer(string: payload))
            await counters.add(calls: 1, retries: attempt > 0 ? 1 : 0)
            var wait = settings.backoff * pow(2, Double(attempt)) * Double.random(in: 0.5...1.5)
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
                let bytes = try await response.body.collect(upTo: 16 << 20)
                let text = String(buffer: bytes)
                switch response.status.code {
                case 200..<300:
                    do {
                        let reply = try JSONFile.decode(ChatCompletionReply.self, from: text, source: base)
                        if let content = reply.choices.first?.message.content { return .success(content) }
                        lastProblem = "\(base): the reply has no choices[0].message.content"
                    } catch {
                        lastProblem =
                            error.reason.hasPrefix("not valid JSON")
                            ? "\(base): the reply is not JSON" : "\(base): the reply is not a chat completion (\(error.reason))"
                    }
                case 429, 503:
                    // Rate limited, or a full queue (iap serve, vLLM): both may say when to retry.
                    lastProblem = "\(base): HTTP \(response.status.code) (\(response.status.code == 429 ? "rate limited" : "busy"))"
                    if let after = response.headers.first(name: "Retry-After").flatMap(Double.init) { wait = max(wait, min(after, 60)) }
                case 500..<600:
                    lastProblem = "\(base): HTTP \(response.status.code)"
                default:
                    let message =
                        (try? JSONFile.decode(APIErrorBody.self, from: text, source: base))?.error.message ?? String(text.prefix(200))
                    return .failure(JudgeCallError("\(base): HTTP \(response.status.code): \(message)"))
                }
            } catch {
                lastProblem = "\(base): \(error)"
                await counters.add(calls: 0, retries: 0, unanswered: 1)
                await rotation.markDown(base)
            }
            if attempt + 1 < settings.maxAttempts {
                try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            }
        }
        return .failure(JudgeCallError("gave up after \(settings.maxAttempts) attempts; last: \(lastProblem)"))
    }

    /// One conversation per call, `concurrency` at once: verdicts are cached as they arrive.
    public var batching: JudgeBatching { JudgeBatching(itemsPerCall: 1, callsInFlight: settings.concurrency) }

    public func requestCounts() async -> JudgeRequestCounts? {
        JudgeRequestCounts(requests: await counters.calls, retries: await counters.retries, unanswered: await counters.unanswered)
    }

    public actor Counters {
        public private(set) var calls = 0
        public private(set) var retries = 0
        /// Requests that got no HTTP reply (refused, reset, timed out).
        public private(set) var unanswered = 0
        func add(calls c: Int, retries r: Int, unanswered u: Int = 0) {
            calls += c
            retries += r
            unanswered += u
        }
    }
}

/// Round-robin over base URLs, skipping ones that recently failed to connect (for 10 s).
actor RoundRobin {
    private var index = 0
    private var downUntil: [String: ContinuousClock.Instant] = [:]

    func next(_ urls: [String]) -> String {
        let now = ContinuousClock.now
        for _ in 0..<urls.count {
            let url = urls[index % urls.count]
            index += 1
            if let until = downUntil[url], until > now { continue }
            return url
        }
        let url = urls[index % urls.count]  // all down: try anyway
        index += 1
        return url
    }

    func markDown(_ url: String) { downUntil[url] = ContinuousClock.now + .seconds(10) }
}

/// A counting semaphore for async code.
public actor AsyncSemaphore {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(_ count: Int) { available = count }

    public func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

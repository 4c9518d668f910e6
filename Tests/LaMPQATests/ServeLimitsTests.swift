import Foundation
import Hummingbird
import ModelFormats
import ModelStore
import ServiceLifecycle
@testable import Serving
import Testing
import Transformers

/// `iap serve` against hostile or careless clients (issue 18, items 9–11): browser-origin
/// requests, over-large asks, slow senders, clients that go away, a full queue, stopping.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ServeLimitsTests {
    static let json = "Content-Type: application/json"
    static let local = "Host: 127.0.0.1"

    static func smolLM() throws -> (CausalLM, ModelFiles) {
        let files = try ModelFiles(path: ModelStore().resolve("smollm2-135m-instruct", pull: false).path)
        return (try CausalLM.load(files), files)
    }

    static func server(_ configure: (inout OpenAIServer.Settings) -> Void = { _ in }) throws -> OpenAIServer {
        let (model, files) = try smolLM()
        var settings = OpenAIServer.Settings(modelName: "smollm2")
        settings.port = 0
        configure(&settings)
        return OpenAIServer(model: model, tokenizer: try files.loadTokenizer(), template: try files.chatTemplate(), settings: settings)
    }

    static func chat(_ extra: String = "", content: String = "Hi") -> String {
        #"{"messages":[{"role":"user","content":""# + content + #""}],"temperature":0,"max_tokens":2"# + extra + "}"
    }

    @Test func screenRules() {
        let screen = RequestScreen(allowedHosts: ["box.lan"], apiKey: "k1")
        var headers = HTTPFields()
        headers[.authorization] = "Bearer k1"
        headers[.contentType] = "application/json; charset=utf-8"
        for host in ["127.0.0.1:8000", "localhost", "[::1]:80", "10.1.2.3", "BOX.lan:9"] {
            #expect(screen.check(method: .post, path: "/v1/chat/completions", authority: host, headers: headers) == nil, "\(host)")
        }
        for host in ["evil.example", "127.0.0.1.evil.example", "box.lan.evil", ""] {
            #expect(screen.check(method: .post, path: "/v1/chat/completions", authority: host, headers: headers)?.status == 403, "\(host)")
        }
        #expect(screen.check(method: .get, path: "/health", authority: "localhost", headers: HTTPFields()) == nil)
        #expect(screen.check(method: .get, path: "/v1/models", authority: "localhost", headers: HTTPFields())?.status == 401)
        headers[.authorization] = "Bearer k2"
        #expect(screen.check(method: .post, path: "/v1/chat/completions", authority: "localhost", headers: headers)?.status == 401)
        headers[.authorization] = "Bearer k1"
        headers[.contentType] = "text/plain"
        #expect(screen.check(method: .post, path: "/v1/chat/completions", authority: "localhost", headers: headers)?.status == 415)
        #expect(RequestScreen(allowedHosts: ["*"]).allows(host: "anything.example"))
    }

    /// DNS rebinding (foreign Host), form posts (no JSON content type), a missing or wrong API
    /// key, and asks beyond the server's caps are refused before any generation.
    @Test func browserOriginAndOverLargeRequestsAreRefused() async throws {
        let server = try Self.server {
            $0.screen = RequestScreen(apiKey: "sesame")
            $0.maxTokensLimit = 100
            $0.maxN = 4
        }
        let key = "Authorization: Bearer sesame"
        try await withServer({ server.application(onRunning: $0) }) { port in
            let rebound = try await Self.exchange(port: port, headers: ["Host: evil.example:\(port)", Self.json, key], body: Self.chat())
            #expect(statusCode(rebound) == 403 && rebound.contains("--allowed-host"))
            let form = try await Self.exchange(port: port, headers: [Self.local, "Content-Type: text/plain", key], body: Self.chat())
            #expect(statusCode(form) == 415)
            let anonymous = try await Self.exchange(port: port, headers: [Self.local, Self.json], body: Self.chat())
            #expect(statusCode(anonymous) == 401)
            let greedy = Self.chat().replacingOccurrences(of: #""max_tokens":2"#, with: #""max_tokens":1000000"#)
            let tooLong = try await Self.exchange(port: port, headers: [Self.local, Self.json, key], body: greedy)
            #expect(statusCode(tooLong) == 400 && tooLong.contains(#""param":"max_tokens""#) && tooLong.contains("at most 100"))
            let tooMany = try await Self.exchange(port: port, headers: [Self.local, Self.json, key], body: Self.chat(#","n":5"#))
            #expect(statusCode(tooMany) == 400 && tooMany.contains(#""param":"n""#))
            let fine = try await Self.exchange(port: port, headers: [Self.local, Self.json, key], body: Self.chat())
            #expect(statusCode(fine) == 200, "\(fine)")
            let health = try await Self.exchange(port: port, headers: [Self.local], method: "GET", path: "/health")
            #expect(statusCode(health) == 200)
        }
    }

    /// A body that never completes gets 408 after the body timeout; a connection that never
    /// completes its head is closed after the idle timeout.
    @Test func slowSendersAreCutOff() async throws {
        let server = try Self.server {
            $0.bodyTimeout = 1
            $0.idleTimeout = 4
        }
        try await withServer({ server.application(onRunning: $0) }) { port in
            let slowBody = try RawConnection(port: port)
            slowBody.send("POST /v1/chat/completions HTTP/1.1\r\n\(Self.local)\r\n\(Self.json)\r\nContent-Length: 500\r\n\r\n{\"messages\"")
            let answer = try await blocking { slowBody.read(until: "\r\n\r\n") }
            #expect(statusCode(answer.text) == 408, "\(answer.text)")
            let slowHead = try RawConnection(port: port, receiveTimeout: 20)
            slowHead.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127")
            let closed = try await blocking { slowHead.read() }
            #expect(closed.closedByServer && closed.text.isEmpty, "\(closed)")
        }
    }

    /// One long streaming request runs; with one waiting request the queue is full and a third
    /// gets 503 with Retry-After. When the streaming client goes away its generation stops
    /// (long before its 4,000 tokens) and the waiting request is served.
    @Test func abandonedStreamsStopAndAFullQueueSays503() async throws {
        let server = try Self.server {
            $0.maxBatch = 1
            $0.maxWaiting = 1
        }
        try await withServer({ server.application(onRunning: $0) }) { port in
            let long = try RawConnection(port: port)
            let longBody =
                #"{"messages":[{"role":"user","content":"Write a very long story."}],"temperature":2,"max_tokens":4000,"n":2,"stream":true}"#
            long.send(RawConnection.request(headers: [Self.local, Self.json], body: longBody))
            let started = try await blocking { long.read(until: #"{"content""#) }
            #expect(statusCode(started.text) == 200)
            // The role chunk comes before the request is queued: wait until it runs.
            try await Self.waitFor("the long request to run") {
                let (runs, waiting) = (await server.queue.batchesRun, await server.queue.queued)
                return runs == 1 && waiting == 0
            }
            let waiter = Task { try await Self.exchange(port: port, headers: [Self.local, Self.json], body: Self.chat()) }
            try await Self.waitFor("the second request to wait") { await server.queue.queued == 1 }
            let refused = try await Self.exchange(port: port, headers: [Self.local, Self.json], body: Self.chat())
            #expect(statusCode(refused) == 503 && refused.contains("Retry-After: 2"), "\(refused.prefix(600))")
            long.close()
            try await Self.waitFor("the abandoned stream to stop") { await server.queue.cancelledRequests == 1 }
            let served = try await waiter.value
            #expect(statusCode(served) == 200, "\(served.prefix(600))")
            // Its settings (n, temperature) differ from the long one's: a generation of its own.
            #expect(await server.queue.batchesRun == 2)
        }
    }

    /// What SIGTERM does: a long stream in flight ends with a shutdown error event and the
    /// server stops within seconds instead of finishing the generation.
    @Test func stoppingEndsInFlightRequests() async throws {
        let server = try Self.server()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = server.serviceGroup(signals: []) { continuation.yield($0) }
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw RawHTTPError("server did not start") }
        let long = try RawConnection(port: port)
        long.send(
            RawConnection.request(
                headers: [Self.local, Self.json],
                body: #"{"messages":[{"role":"user","content":"Write a long story."}],"temperature":2,"max_tokens":4000,"stream":true}"#))
        _ = try await blocking { long.read(until: #"{"content""#) }
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        let rest = try await blocking { long.read() }
        try await running.value
        #expect(rest.text.contains("server_shutting_down") && rest.text.contains("[DONE]"), "\(rest.text.suffix(500))")
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    /// Requests with different seeds share a batch, and each samples as it would alone.
    @Test func differentSeedsShareABatchAndKeepTheirSamples() async throws {
        let (model, files) = try Self.smolLM()
        let tokenizer = try files.loadTokenizer()
        let prompts = ["The sea is", "The sky is"].map { tokenizer.encode($0) }
        #expect(prompts[0].count == prompts[1].count)
        var options = GenerationOptions()
        options.maxNewTokens = 12
        options.stopAtEOS = false
        let alone = try model.generate(prompts: [prompts[0]], tokenizer: tokenizer, options: options, promptSeeds: [7])
        let together = try model.generate(prompts: prompts, tokenizer: tokenizer, options: options, promptSeeds: [7, 8])
        #expect(together[0].tokens == alone[0].tokens)
        let otherSeed = try model.generate(prompts: [prompts[0]], tokenizer: tokenizer, options: options, promptSeeds: [8])
        #expect(otherSeed[0].tokens != alone[0].tokens)

        let queue = GenerationQueue(model: model, tokenizer: tokenizer, maxBatch: 16)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for seed in 0..<8 {
                var seeded = options
                seeded.seed = UInt64(seed)
                group.addTask { _ = try await queue.submit(prompt: prompts[0], options: seeded) }
            }
            try await group.waitForAll()
        }
        #expect(await queue.batchesRun < 8)
    }

    /// Issue 14: a server started for a scaffolded model writes the IAP tags around every
    /// completion of a request (its own budgets; a short max_tokens does not cut the tags).
    @Test func aScaffoldedServerWritesTheTags() async throws {
        let scaffold = BlockScaffold(blocks: [
            .init(opening: "<think>\n", closing: "</think>", budget: 3), .init(opening: "<answer>\n", closing: "</answer>", budget: 4),
        ])
        let server = try Self.server { $0.scaffold = scaffold }
        var chat = ChatCompletionRequest(messages: [ChatMessage(.user, "Hi")])
        chat.maxTokens = 2
        chat.temperature = 0
        let options = server.generationOptions(chat, room: 4096)
        #expect(options.scaffold == scaffold)
        let out = try await server.submit(prompt: [1, 2, 3], options: options)
        #expect(out.count == 1 && out[0].text.hasPrefix("<think>\n") && out[0].text.hasSuffix("</answer>"), "\(out[0].text)")
        #expect(out[0].text.contains("<answer>\n") && out[0].forced.contains(true))
    }

    /// Continuous batching: a short request sent while a long one generates joins it and is
    /// answered long before the long one ends; with static batching it waits for the end.
    @Test func aShortRequestJoinsARunningLongOne() async throws {
        let (model, files) = try Self.smolLM()
        let tokenizer = try files.loadTokenizer()
        for batching in Batching.allCases {
            let queue = GenerationQueue(model: model, tokenizer: tokenizer, maxBatch: 4, batching: batching)
            var long = GenerationOptions()
            long.maxNewTokens = 160
            long.stopAtEOS = false
            var short = long
            short.maxNewTokens = 6  // a different limit, same settings otherwise: they share a generation
            let longPieces = PieceCounter()
            let started = PieceCounter()
            let longRequest = Task {
                try await queue.submit(prompt: tokenizer.encode("Once upon a time"), options: long) { _, _ in
                    _ = longPieces.add()
                    _ = started.add()
                }
            }
            try await Self.waitFor("the long request to start") { started.count > 3 }
            let answer = try await queue.submit(prompt: tokenizer.encode("The sea is"), options: short)
            let longTokensThen = longPieces.count
            let longOut = try await longRequest.value
            let longPiecesInAll = longPieces.count
            #expect(answer[0].tokens.count == 6 && longOut[0].tokens.count == 160)
            // (Text pieces, at most one per token.)
            if batching == .continuous {
                #expect(longTokensThen < 120, "the short request waited for \(longTokensThen) of the long one's 160 tokens")
            } else {
                #expect(longTokensThen == longPiecesInAll, "static batching answered the short request before the long one ended")
            }
            #expect(await queue.batchesRun == 1)
        }
    }

    /// A cancelled ticket stops generation at the next token.
    @Test func aCancelledTicketStopsGeneration() async throws {
        let (model, files) = try Self.smolLM()
        let queue = GenerationQueue(model: model, tokenizer: try files.loadTokenizer())
        var options = GenerationOptions()
        options.maxNewTokens = 2000
        options.stopAtEOS = false
        let ticket = GenerationTicket()
        let pieces = PieceCounter()
        await #expect(throws: GenerationQueue.Refusal.cancelled) {
            _ = try await queue.submit(prompt: [1, 2, 3], options: options, ticket: ticket) { _, _ in
                if pieces.add() == 5 { ticket.cancel() }
            }
        }
        #expect(pieces.count <= 6)
    }

    /// One request over a fresh connection (see `RawConnection.exchange`), off the pool.
    static func exchange(port: Int, headers: [String], body: String = "", method: String = "POST", path: String = "/v1/chat/completions")
        async throws -> String
    {
        try await blocking { try RawConnection.exchange(port: port, headers: headers, body: body, method: method, path: path) }
    }

    static func waitFor(_ what: String, seconds: Double = 60, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw RawHTTPError("timed out waiting for \(what)") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }
}

final class PieceCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

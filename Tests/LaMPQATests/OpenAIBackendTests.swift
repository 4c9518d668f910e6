import AsyncHTTPClient
import Foundation
import Hummingbird
import JSONFiles
import OpenAIWire
import ModelFormats
import ModelStore
import NIOCore
import SafeTensors
@testable import Serving
import Testing
import Transformers
import LaMPQACore

@testable import LaMPQA

/// Runs a Hummingbird application on a free loopback port for the duration of `body`.
func withServer<T: Sendable>(
    _ app: (@escaping @Sendable (Int) async -> Void) -> any ApplicationProtocol, _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let application = app { port in continuation.yield(port) }
    let task = Task { try await application.run() }
    defer { task.cancel() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw JudgeCallError("server did not start") }
    return try await body(port)
}

/// A server that misbehaves on purpose, per path: 500s, 429 with Retry-After, replies slower
/// than the client's timeout, garbage bodies; counting the requests it gets.
final class FaultServer: Sendable {
    let counts = Counter()
    actor Counter {
        var byPath: [String: Int] = [:]
        func bump(_ path: String) -> Int {
            byPath[path, default: 0] += 1
            return byPath[path]!
        }
        func count(_ path: String) -> Int { byPath[path] ?? 0 }
    }

    static func reply(_ text: String) -> Response {
        // The least a server may answer: choices[0].message.content.
        let body = #"{"choices": [{"message": {"role": "assistant", "content": "# + (try! JSONFile.encode(text)) + "}}]}"
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func application(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let counts = self.counts
        router.post("ok/v1/chat/completions") { _, _ in
            _ = await counts.bump("ok")
            try await Task.sleep(nanoseconds: 100_000_000)  // 100 ms, like a busy judge
            return FaultServer.reply("```json\n{\"match_score\": 2}\n```")
        }
        router.post("flaky/v1/chat/completions") { _, _ in
            let n = await counts.bump("flaky")
            return n % 3 == 0 ? FaultServer.reply("{\"match_score\": 1}") : Response(status: .internalServerError)
        }
        // Rate limited (429) or busy (503, a full queue), each once, saying when to retry.
        for (path, status) in [("limited", HTTPResponse.Status.tooManyRequests), ("busy", .serviceUnavailable)] {
            router.post("\(path)/v1/chat/completions") { _, _ in
                let n = await counts.bump(path)
                if n == 1 {
                    var headers = HTTPFields()
                    headers[.retryAfter] = "1"
                    return Response(status: status, headers: headers)
                }
                return FaultServer.reply("{\"match_score\": 0}")
            }
        }
        router.post("slow/v1/chat/completions") { _, _ in
            _ = await counts.bump("slow")
            try await Task.sleep(nanoseconds: 5_000_000_000)
            return FaultServer.reply("{\"match_score\": 2}")
        }
        router.post("garbage/v1/chat/completions") { _, _ in
            _ = await counts.bump("garbage")
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<html>not json")))
        }
        router.post("echo/v1/chat/completions") { request, _ in
            // A server that repeats the credentials it got in its error body.
            let said = request.headers[.authorization] ?? "none"
            return Response(
                status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "bad key: "# + "\(said)\"}}")))
        }
        router.post("keyed/v1/chat/completions") { request, _ in
            // Answers only a request that carries the conventional test key.
            guard request.headers[.authorization] == "Bearer sk-openai-convention" else {
                return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "no key"}}"#)))
            }
            return FaultServer.reply("{\"match_score\": 2}")
        }
        router.post("mixed/v1/chat/completions") { request, _ in
            // Answers at once, except for responses that ask to be slow.
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
            if body.contains("SLOW") { try await Task.sleep(nanoseconds: 20_000_000_000) }
            return FaultServer.reply("{\"match_score\": 2}")
        }
        router.post("unauthorized/v1/chat/completions") { _, _ in
            _ = await counts.bump("unauthorized")
            return Response(
                status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "invalid API key"}}"#)))
        }
        router.post("bad/v1/chat/completions") { _, _ in
            _ = await counts.bump("bad")
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "no such model"}}"#)))
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { await onRunning($0.localAddress?.port ?? 0) })
    }
}

func item(_ n: Int) -> JudgeItem {
    JudgeItem(
        questionId: "q\(n)", question: "Q", details: "D", response: "R\(n)", aspectIndex: 0,
        aspect: RubricAspect(aspect: "A", reason: "r", evidence: "e"))
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct OpenAIBackendTests {
    func backend(_ url: String, attempts: Int = 4, timeout: Double = 2) throws -> OpenAIChatBackend {
        var settings = OpenAIChatBackend.Settings(baseURLs: [url], model: "judge")
        settings.maxAttempts = attempts
        settings.timeout = timeout
        settings.backoff = 0.05
        settings.concurrency = 8
        return try OpenAIChatBackend(settings: settings)
    }

    /// Every item ends scored or failed, within its deadlines, whatever the server does.
    @Test func faultsEndInScoresOrListedFailures() async throws {
        let faults = FaultServer()
        try await withServer({ faults.application(onRunning: $0) }) { port in
            let base = "http://127.0.0.1:\(port)"
            let items = (0..<4).map(item)
            let judgeOK = LLMRubricJudge(backend: try backend(base + "/ok/v1"))
            #expect(await judgeOK.judge(items, temperature: 0) == Array(repeating: .score(2), count: 4))

            let flaky = try backend(base + "/flaky/v1", attempts: 6)
            let flakyVerdicts = await LLMRubricJudge(backend: flaky).judge(items, temperature: 0)
            #expect(flakyVerdicts.allSatisfy { $0 == .score(1) }, "500s are retried until an answer comes")
            #expect(await flaky.counters.retries > 0)

            let clock = ContinuousClock()
            for path in ["limited", "busy"] {
                var verdicts: [JudgeVerdict] = []
                let waited = await clock.measure {
                    verdicts = await LLMRubricJudge(backend: try! backend(base + "/\(path)/v1")).judge([item(0)], temperature: 0)
                }
                #expect(verdicts == [.score(0)])
                #expect(waited >= .milliseconds(900), "\(path): Retry-After was honoured")
            }

            let slowStart = clock.now
            let slow = await LLMRubricJudge(backend: try backend(base + "/slow/v1", attempts: 2, timeout: 0.5)).judge(
                [item(0), item(1)], temperature: 0)
            #expect(slow.allSatisfy { if case .failed = $0 { true } else { false } })
            #expect(clock.now - slowStart < .seconds(4), "timeouts end slow calls")

            let garbage = await LLMRubricJudge(backend: try backend(base + "/garbage/v1", attempts: 2)).judge([item(0)], temperature: 0)
            guard case .failed(let reason) = garbage[0] else { Issue.record("garbage accepted"); return }
            #expect(reason.contains("not JSON"))

            let bad = await LLMRubricJudge(backend: try backend(base + "/bad/v1")).judge([item(0)], temperature: 0)
            #expect(bad == [.failed("\(base)/bad/v1: HTTP 400: no such model")])
            #expect(await faults.counts.count("bad") == 1, "4xx other than 429 is not retried")
        }
        // Nothing listening: connection refused, retried, then failed.
        let refused = await LLMRubricJudge(backend: try backend("http://127.0.0.1:1/v1", attempts: 2)).judge([item(0)], temperature: 0)
        #expect(refused.allSatisfy { if case .failed = $0 { true } else { false } })
    }

    /// A judge that refuses the key (401), errors (5xx) or is down leaves the evaluation
    /// incomplete — no zeros posing as scores: summary.json says so and lists the items, no
    /// final scores file is written, and reading the folder as a result is refused. The call
    /// and retry counts are the requests the server received.
    @Test func failedJudgeCallsMakeTheEvaluationIncomplete() async throws {
        let aspect = RubricAspect(aspect: "A", reason: "r", evidence: "e")
        let records = [
            LaMPQARecord(
                id: "0_1_0", domain: .artAndEntertainment, question: "Q", narrative: "N", category: "c", profile: [],
                aspects: [aspect, aspect]),
            LaMPQARecord(
                id: "0_1_1", domain: .artAndEntertainment, question: "Q", narrative: "N", category: "c", profile: [], aspects: [aspect]),
        ]
        let responses = ["0_1_0": "a", "0_1_1": "b"]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-incomplete-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let faults = FaultServer()
        try await withServer({ faults.application(onRunning: $0) }) { port in
            let base = "http://127.0.0.1:\(port)"
            let refused = try await Evaluator(judge: LLMRubricJudge(backend: try backend(base + "/unauthorized/v1")), cache: nil)
                .evaluate(records: records, responses: responses)
            #expect(!refused.isComplete && refused.incomplete.count == 3 && refused.failed.isEmpty)
            #expect(refused.incomplete[0].problem.contains("HTTP 401: invalid API key"))
            #expect(refused.calls == 3 && refused.retries == 0)
            #expect(await faults.counts.count("unauthorized") == 3, "401 is asked once per item, not in every retry round")

            let scores = EvaluationFolder(path: folder)
            try scores.write(refused, responses: "r.json", data: "d", split: .test)
            let summary = try scores.summary()
            #expect(!summary.complete && summary.incompleteItems.count == 3)
            #expect(!FileManager.default.fileExists(atPath: scores.scoresPath(.artAndEntertainment, .test)))
            #expect(FileManager.default.fileExists(atPath: scores.scoresPath(.artAndEntertainment, .test, complete: false)))
            #expect { try scores.methodResult() } throws: { "\($0)".contains("incomplete evaluation") && "\($0)".contains("summary.json") }
            #expect(try scores.methodResult(allowIncomplete: true).name.hasSuffix("(incomplete)"))
            await #expect(throws: EvaluationIncomplete.self) {
                try await Evaluator(judge: LLMRubricJudge(backend: try backend(base + "/unauthorized/v1")), cache: nil)
                    .scores(of: [(records[1], "b")])
            }

            // 500s retried by the backend until answered: complete, and the counts are the server's.
            let flaky = try await Evaluator(judge: LLMRubricJudge(backend: try backend(base + "/flaky/v1", attempts: 6)), cache: nil)
                .evaluate(records: records, responses: responses)
            let received = await faults.counts.count("flaky")
            #expect(flaky.isComplete && flaky.calls == received && flaky.retries == received - 3)
            // Once complete, the folder holds final scores again and reads as a result.
            try scores.write(flaky, responses: "r.json", data: "d", split: .test)
            #expect(!FileManager.default.fileExists(atPath: scores.scoresPath(.artAndEntertainment, .test, complete: false)))
            #expect(try scores.methodResult().name == FileManager.default.displayName(atPath: folder))
        }
        // Nothing listening: every request goes unanswered.
        let down = try await Evaluator(judge: LLMRubricJudge(backend: try backend("http://127.0.0.1:1/v1", attempts: 2)), cache: nil)
            .evaluate(records: records, responses: responses)
        #expect(!down.isComplete && down.unanswered == down.calls && down.calls == 6)
    }

    /// Each verdict is cached when it arrives, not when its batch ends: stopping an evaluation
    /// while one request hangs keeps every verdict that came back.
    @Test func verdictsAreCachedAsTheyArrive() async throws {
        let aspect = RubricAspect(aspect: "A", reason: "r", evidence: "e")
        let records = (0..<5).map { k in
            LaMPQARecord(
                id: "0_1_\(k)", domain: .artAndEntertainment, question: "Q", narrative: "N", category: "c", profile: [], aspects: [aspect])
        }
        let responses = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0.id == "0_1_4" ? "SLOW" : "fast \($0.id)") })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iap-arrive-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let faults = FaultServer()
        try await withServer({ faults.application(onRunning: $0) }) { port in
            let judge = LLMRubricJudge(backend: try backend("http://127.0.0.1:\(port)/mixed/v1", attempts: 1, timeout: 60))
            let cache = try JudgeCache(path: folder + "/verdicts.jsonl")
            let evaluation = Task { try await Evaluator(judge: judge, cache: cache).evaluate(records: records, responses: responses) }
            try await Task.sleep(nanoseconds: 1_500_000_000)
            evaluation.cancel()
            _ = try? await evaluation.value
            let kept = try JudgeCache(path: folder + "/verdicts.jsonl")
            #expect(await kept.count == 4, "the four answered verdicts are on disk")
        }
    }

    /// Credentials in a judge URL and the API key never reach a message (and so no file).
    @Test func credentialsAreRedacted() async throws {
        #expect(OpenAIChatBackend.withoutCredentials("http://user:secret@host:8000/v1") == "http://***@host:8000/v1")
        #expect(OpenAIChatBackend.withoutCredentials("https://host/v1?u=a@b") == "https://host/v1?u=a@b")
        setenv("IAP_TEST_JUDGE_KEY", "sk-test-very-secret", 1)
        defer { unsetenv("IAP_TEST_JUDGE_KEY") }
        let faults = FaultServer()
        try await withServer({ faults.application(onRunning: $0) }) { port in
            var settings = OpenAIChatBackend.Settings(baseURLs: ["http://judge:pa55word@127.0.0.1:\(port)/echo/v1"], model: "judge")
            settings.apiKeyVariable = "IAP_TEST_JUDGE_KEY"
            settings.maxAttempts = 1
            let verdicts = await LLMRubricJudge(backend: try OpenAIChatBackend(settings: settings)).judge([item(0)], temperature: 0)
            guard case .failed(let problem) = verdicts[0] else { Issue.record("not failed: \(verdicts)"); return }
            #expect(problem.contains("HTTP 403") && problem.contains("***@127.0.0.1"), "\(problem)")
            #expect(!problem.contains("pa55word") && !problem.contains("sk-test-very-secret"), "\(problem)")
        }
    }

    /// Issue 14: with no variable named, a key in OPENAI_API_KEY is sent (the convention of
    /// OpenAI-compatible clients); a named variable still wins.
    @Test func openAIAPIKeyIsSentWhenNoVariableIsNamed() async throws {
        setenv("OPENAI_API_KEY", "sk-openai-convention", 1)
        setenv("IAP_TEST_OTHER_KEY", "sk-other", 1)
        defer {
            unsetenv("OPENAI_API_KEY")
            unsetenv("IAP_TEST_OTHER_KEY")
        }
        let faults = FaultServer()
        try await withServer({ faults.application(onRunning: $0) }) { port in
            var settings = OpenAIChatBackend.Settings(baseURLs: ["http://127.0.0.1:\(port)/keyed/v1"], model: "judge")
            settings.maxAttempts = 1
            let sent = await LLMRubricJudge(backend: try OpenAIChatBackend(settings: settings)).judge([item(0)], temperature: 0)
            guard case .score = sent[0] else { Issue.record("OPENAI_API_KEY was not sent: \(sent)"); return }
            settings.apiKeyVariable = "IAP_TEST_OTHER_KEY"
            let other = await LLMRubricJudge(backend: try OpenAIChatBackend(settings: settings)).judge([item(0)], temperature: 0)
            guard case .failed(let problem) = other[0] else { Issue.record("the named variable did not win: \(other)"); return }
            #expect(problem.contains("HTTP 401") && !problem.contains("sk-other"), "\(problem)")
        }
    }

    /// Dropped connections (accepted, then closed without a reply) are retried and end failed.
    @Test func droppedConnectionsFail() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        listen(listener, 16)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let dropper = Thread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = read(c, &buffer, buffer.count)
                close(c)
            }
        }
        dropper.start()
        defer { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
        let verdicts = await LLMRubricJudge(backend: try backend("http://127.0.0.1:\(port)/v1", attempts: 3)).judge(
            [item(0), item(1)], temperature: 0)
        #expect(verdicts.allSatisfy { if case .failed = $0 { true } else { false } })
    }

    /// The openai backend against `iap serve` running SmolLM2 over loopback: plain and
    /// streamed completions, concurrent requests, OpenAI-shaped errors.
    @Test func againstIapServe() async throws {
        let files = try ModelFiles(path: ModelStore().resolve("smollm2-135m-instruct", pull: false).path)
        let model = try CausalLM.load(files)
        var settings = OpenAIServer.Settings(modelName: "smollm2")
        settings.port = 0
        settings.maxRequestBytes = 4096
        let server = OpenAIServer(
            model: model, tokenizer: try files.loadTokenizer(), template: try files.chatTemplate(), settings: settings)
        try await withServer({ server.application(onRunning: $0) }) { port in
            var backendSettings = OpenAIChatBackend.Settings(baseURLs: ["http://127.0.0.1:\(port)/v1"], model: "smollm2")
            backendSettings.concurrency = 4
            let backend = try OpenAIChatBackend(settings: backendSettings)
            let conversations = (0..<6).map { [ChatMessage(.user, "Name a colour. \($0)")] }
            let replies = await backend.complete(conversations, temperature: 0, topP: 1, maxTokens: 12)
            #expect(replies.count == 6)
            for reply in replies {
                guard case .success(let text) = reply else { Issue.record("failed: \(reply)"); continue }
                #expect(!text.isEmpty)
            }
            // Greedy answers are deterministic: the same request twice gives the same text.
            let again = await backend.complete([conversations[0]], temperature: 0, topP: 1, maxTokens: 12)
            #expect(try again[0].get() == replies[0].get())

            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            func post(_ body: String) async throws -> (Int, String) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await client.execute(request, timeout: .seconds(60))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            let (status, stream) = try await post(
                #"{"messages":[{"role":"user","content":"Say hello"}],"temperature":0,"max_tokens":6,"stream":true,"n":2}"#)
            #expect(status == 200)
            #expect(stream.hasSuffix("data: [DONE]\n\n"))
            #expect(stream.contains(#""finish_reason":"length""#) && stream.contains(#""usage""#) && stream.contains(#""index":1"#))
            let (modelsStatus, _) = try await post(#"{"model":"other","messages":[{"role":"user","content":"x"}]}"#)
            #expect(modelsStatus == 404)
            let (badStatus, badBody) = try await post(#"{"messages":[{"role":"robot","content":"x"}]}"#)
            #expect(badStatus == 400 && badBody.contains(#""param":"messages[0].role""#))
            let (bigStatus, bigBody) = try await post(
                #"{"messages":[{"role":"user","content":""# + String(repeating: "x", count: 5000) + #""}]}"#)
            #expect(bigStatus == 413 && bigBody.contains("exceeds 4096 bytes"))
            let (usageStatus, usageBody) = try await post(#"{"messages":[{"role":"user","content":"Hi"}],"temperature":0,"max_tokens":3}"#)
            #expect(usageStatus == 200 && usageBody.contains(#""completion_tokens":3"#))
            try await client.shutdown()
        }
    }
}

/// Issue 29 row 9: a malformed judge URL is refused when the backend is made, naming the URL
/// (without its password), not tried once per item and reported as HTTPClientError.invalidURL.
@Suite struct JudgeURLTests {
    @Test(arguments: [
        ("ftp://127.0.0.1/v1", "must start with http:// or https://"), ("http://exa mple/v1", "not a valid URL"),
        ("http://", "needs a host"), ("http://:8000/v1", "needs a host"), ("http://h:0/v1", "port in 1…65535"),
        ("http://h:80x/v1", "port in 1…65535"), ("http://127.0.0.1:99999/v1", "port in 1…65535"),
        ("http://127.0.0.1:99999999999999999999/v1", "port in 1…65535"), ("http://u:secret@[::1/v1", "not a valid URL"),
    ])
    func malformedURLsAreRefusedUpFront(url: String, problem: String) {
        do {
            _ = try OpenAIChatBackend(settings: .init(baseURLs: ["http://127.0.0.1:8000/v1", url], model: "m"))
            Issue.record("\(url) accepted")
        } catch {
            #expect(error.message.contains(problem) && error.message.hasPrefix("--judge-url "), "\(url): \(error)")
            #expect(!error.message.contains("secret"), "\(error)")
        }
    }

    @Test func usableURLsAreAccepted() throws {
        for url in ["http://127.0.0.1:8000/v1", "https://api.example.com/v1/", "http://judge.local:9/v1", "http://[::1]:8000/v1"] {
            _ = try OpenAIChatBackend(settings: .init(baseURLs: [url], model: "m"))
        }
    }
}

@Suite struct ServedIntentsTests {
    /// The `iap` field is what the server's summary makes of the reply (`iap serve` passes
    /// `RolloutSummary(reply:)`, tested in IAPCoreTests); without one there is none.
    @Test func repliesCarryTheirSummary() {
        let summary = RolloutSummary(intents: ["save money"], answer: "Walk.", valid: true, problem: nil)
        #expect(OpenAIServer.message("<intent>…", summary: { $0.hasPrefix("<intent>") ? summary : nil }).iap == summary)
        #expect(OpenAIServer.message("plain text", summary: { $0.hasPrefix("<intent>") ? summary : nil }).iap == nil)
        #expect(OpenAIServer.message("<intent>…", summary: nil).iap == nil)
    }
}

import ArgumentParser
import CommandSupport
import AsyncHTTPClient
import Hummingbird
import ModelFormats
import NIOCore
import OpenAIWire
import JSONFiles
import Serving
import Torch
import Transformers
import LaMPQACore

#if canImport(Glibc)
    import Glibc
#endif

/// Benchmarks of the judge client and of `iap serve`; `scripts/bench-serving.sh` runs them.
extension BenchCommand {
    /// A stand-in judge server: answers every chat completion after a fixed delay.
    struct JudgeServer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "judge-server", abstract: "Answer chat completions with {\"match_score\": 1} after --delay-ms (for judge-client).")

        @Option var port = 8390
        @Option(help: "Milliseconds before each answer.")
        var delayMs = 100

        func run() async throws {
            let router = Router()
            let delay = UInt64(delayMs) * 1_000_000
            let reply = ChatCompletion(
                id: "bench", created: 0, model: "bench",
                choices: [.init(index: 0, message: AssistantMessage(content: "```json\n{\"match_score\": 1}\n```"), finishReason: "stop")],
                usage: nil)
            let body = try JSONFile.encode(reply)
            router.post("v1/chat/completions") { _, _ in
                try await Task.sleep(nanoseconds: delay)
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            try await app.runService()
        }
    }

    /// The judge client against such a server: achieved vs configured concurrency.
    struct JudgeClient: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "judge-client", abstract: "Send judge calls through the OpenAI client: calls/s, achieved concurrency, CPU.")

        @Option var url = "http://127.0.0.1:8390/v1"
        @Option var concurrency = 64
        @Option var calls = 1280
        @Option(help: "The server's answer delay in ms (to compute achieved concurrency).")
        var delayMs = 100

        func run() async throws {
            var settings = OpenAIChatBackend.Settings(baseURLs: [url], model: "bench")
            settings.concurrency = concurrency
            let backend = try OpenAIChatBackend(settings: settings)
            let judge = LLMRubricJudge(backend: backend)
            let items = (0..<calls).map {
                JudgeItem(
                    questionId: "\($0)", question: "q", details: "d", response: "r", aspectIndex: 0,
                    aspect: RubricAspect(aspect: "a", reason: "r", evidence: "e"))
            }
            _ = await judge.judge(Array(items.prefix(concurrency)), temperature: 0)  // warm the connection pool
            var before = rusage()
            getrusage(RUSAGE_SELF.rawValue, &before)
            let clock = ContinuousClock()
            var verdicts: [JudgeVerdict] = []
            let elapsed = await clock.measure { verdicts = await judge.judge(items, temperature: 0) }
            var after = rusage()
            getrusage(RUSAGE_SELF.rawValue, &after)
            let wall = seconds(elapsed)
            func cpu(_ r: rusage) -> Double {
                Double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + Double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6
            }
            let scored = verdicts.filter { $0 == .score(1) }.count
            let achieved = Double(calls) * Double(delayMs) / 1000 / wall
            let cpuSeconds = cpu(after) - cpu(before)
            BenchResult.print(
                BenchResult.JudgeClient(
                    calls: calls, scored: scored, configuredConcurrency: concurrency, achievedConcurrency: rounded(achieved, 1),
                    fraction: rounded(achieved / Double(concurrency), 3), callsPerS: rounded(Double(calls) / wall, 1),
                    wallS: rounded(wall, 2), cpuS: rounded(cpuSeconds, 2), cpuMsPerCall: rounded(cpuSeconds * 1000 / Double(calls), 3)))
        }
    }

    /// `iap serve` under concurrent clients.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Requests/s and tokens/s of the chat server in process, at several client counts.")

        @Option var model = "smollm2-135m-instruct"
        @Option(parsing: .upToNextOption) var clients: [Int] = [1, 4, 16]
        @Option(help: "Requests per client count.")
        var requests = 16
        @Option(help: "Tokens per completion.")
        var maxTokens = 64
        @Option var threads = 2
        @Option(help: "Seeds of the requests: fixed (all 1), distinct (one each) or none (the server draws one).")
        var seeds = "fixed"
        @Option(parsing: .upToNextOption, help: "Batching modes to measure, each with its own server (continuous, static).")
        var batching: [Batching] = [.continuous]
        @Option(parsing: .upToNextOption, help: "Prefix caching settings to measure, each with its own server (on, off).")
        var prefixCache: [String] = ["on"]
        @Option(parsing: .upToNextOption, help: "Chunked prefill budgets to measure, each with its own server (tokens per step, or off).")
        var prefillChunk: [String] = ["off"]
        @Option(
            help:
                "Prompts: same (every request asks the same) or distinct (each names its own number, sharing the chat template's system prompt and the question's start)."
        )
        var prompts = "same"

        func validate() throws {
            guard ["fixed", "distinct", "none"].contains(seeds) else { throw ValidationError("--seeds must be fixed, distinct or none") }
            guard ["same", "distinct"].contains(prompts) else { throw ValidationError("--prompts must be same or distinct") }
            guard prefixCache.allSatisfy({ ["on", "off"].contains($0) }) else { throw ValidationError("--prefix-cache takes on or off") }
            guard prefillChunk.allSatisfy({ $0 == "off" || (Int($0) ?? 0) > 0 }) else {
                throw ValidationError("--prefill-chunk takes off or a positive token count")
            }
        }

        func run() async throws {
            for mode in batching {
                for caching in prefixCache {
                    for chunk in prefillChunk {
                        let server = try await BenchCommand.startServer(
                            model: model, threads: threads, batching: mode, prefixCache: caching == "on", prefillChunk: Int(chunk))
                        do { try await measure(server, batching: mode) } catch {
                            await server.stop()
                            throw error
                        }
                        await server.stop()
                    }
                }
            }
        }

        /// Clients share one HTTP client whose pool holds a connection per client (the
        /// default 8 would make the others wait, and time out, for a connection).
        func measure(_ server: BenchCommand.RunningServer, batching: Batching) async throws {
            let port = server.port
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(clients.max() ?? 1, 8))
            configuration.timeout = .init(connect: .seconds(600), read: .seconds(600))
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            func body(_ index: Int) throws -> String {
                let seed: Int? = seeds == "fixed" ? 1 : seeds == "distinct" ? index : nil
                return try JSONFile.encode(
                    ChatCompletionRequestBody(
                        model: "bench", messages: [WireMessage(role: "user", content: question(index))], temperature: 1,
                        maxTokens: maxTokens, seed: seed))
            }
            func question(_ index: Int) -> String {
                prompts == "same" ? "Write a sentence about the sea." : "Write a sentence about the number \(index)."
            }
            for count in clients {
                let reusedBefore = server.server.queue.prefixes?.tokensReused ?? 0
                let clock = ContinuousClock()
                let gate = AsyncSemaphore(count)
                var tokens = 0
                let elapsed = try await clock.measure {
                    tokens = try await withThrowingTaskGroup(of: Int.self) { group in
                        for index in 0..<requests {
                            let body = try body(index)
                            group.addTask {
                                await gate.acquire()
                                defer { Task { await gate.release() } }
                                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                                request.method = .POST
                                request.headers.add(name: "Content-Type", value: "application/json")
                                request.body = .bytes(ByteBuffer(string: body))
                                let response = try await client.execute(request, timeout: .seconds(600))
                                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                                let reply = try? JSONFile.decode(ChatCompletion.self, from: text, source: "the server's reply")
                                return reply?.usage?.completionTokens ?? 0
                            }
                        }
                        return try await group.reduce(0, +)
                    }
                }
                let s = seconds(elapsed)
                BenchResult.print(
                    BenchResult.Serve(
                        clients: count, requests: requests, maxTokens: maxTokens, threads: threads, seeds: seeds,
                        batching: batching.rawValue,
                        prompts: prompts, prefixCache: server.server.queue.prefixes != nil,
                        prefillChunk: server.server.settings.prefillChunkTokens,
                        tokensReused: (server.server.queue.prefixes?.tokensReused ?? 0) - reusedBefore, seconds: rounded(s, 2),
                        requestsPerS: rounded(Double(requests) / s, 2), tokensPerS: rounded(Double(tokens) / s, 1)))
            }
            try await client.shutdown()
        }
    }
}

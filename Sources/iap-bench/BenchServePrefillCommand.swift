import ArgumentParser
import AsyncHTTPClient
import CommandSupport
import Foundation
import JSONFiles
import NIOCore
import OpenAIWire

extension BenchCommand {
    /// Chunked prefill under load (issue 33 §4): streams are decoding when long prompts
    /// arrive, then a short request right behind them. Measures, per prefill budget with a
    /// server of its own: the running streams' longest gap between tokens while the long
    /// prompts join (the stall chunking removes), the short request's time to first token,
    /// and how long the long requests took.
    struct ServePrefill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve-prefill", abstract: "Decode stalls and time to first token of the chat server while long prompts join.")

        @Option var model = "smollm2-135m-instruct"
        @Option(parsing: .upToNextOption, help: "Prefill budgets to measure (tokens per decoding step, or off).")
        var prefillChunk: [String] = ["off", "512"]
        @Option(help: "Streams decoding when the long prompts come.")
        var running = 4
        @Option(help: "max_tokens of those streams (the server's default is 512).")
        var runningMaxTokens = 512
        @Option var longRequests = 4
        @Option(help: "Sentences (about 12 tokens each) of every long prompt.")
        var longSentences = 100
        @Option var threads = 2

        func validate() throws {
            guard prefillChunk.allSatisfy({ $0 == "off" || (Int($0) ?? 0) > 0 }) else {
                throw ValidationError("--prefill-chunk takes off or a positive token count")
            }
            for (flag, value) in [
                ("--running", running), ("--running-max-tokens", runningMaxTokens), ("--long-requests", longRequests),
                ("--long-sentences", longSentences),
            ]
            where value < 1 {
                throw ValidationError("\(flag) must be at least 1 (got \(value))")
            }
        }

        func run() async throws {
            for chunk in prefillChunk {
                let server = try await BenchCommand.startServer(model: model, threads: threads, prefillChunk: Int(chunk))
                do { try await measure(port: server.port, chunk: Int(chunk)) } catch {
                    await server.stop()
                    throw error
                }
                await server.stop()
            }
        }

        func measure(port: Int, chunk: Int?) async throws {
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: running + longRequests + 2)
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            let call = PrefillBenchCalls(client: client, port: port)
            let times = TokenTimes()
            let streams = (0..<running).map { i in
                Task {
                    try await call.stream(
                        "Write a very long story about a lighthouse keeper.", id: i, maxTokens: runningMaxTokens, into: times)
                }
            }
            while await times.fewest(of: Array(0..<running)) < 8 { try await Task.sleep(nanoseconds: 10_000_000) }
            let start = ContinuousClock.now
            let longs = (0..<longRequests).map { k in
                Task { try await call.whole(Self.longPrompt(k, sentences: longSentences)) }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
            let shortSent = ContinuousClock.now
            try await call.stream("Say hi.", id: -1, maxTokens: 8, into: times)
            var promptTokens = 0
            for long in longs { promptTokens = max(promptTokens, try await long.value) }
            let answered = ContinuousClock.now
            for stream in streams { stream.cancel() }
            let gaps = await times.gaps(of: Array(0..<running))
            let before = gaps.filter { $0.end < start }.map(\.seconds).sorted()
            let during = gaps.filter { $0.end > start && $0.start < answered }.map(\.seconds)
            let firstShort = await times.first(of: -1) ?? answered
            BenchResult.print(
                BenchResult.ServePrefill(
                    prefillChunk: chunk, running: running, longRequests: longRequests, longPromptTokens: promptTokens, threads: threads,
                    gapBeforeMedianS: rounded(before.isEmpty ? 0 : before[before.count / 2], 3),
                    gapWhileJoiningMaxS: rounded(during.max() ?? 0, 3), shortFirstTokenS: rounded(seconds(firstShort - shortSent), 3),
                    longAnsweredS: rounded(seconds(answered - start), 3)))
            for stream in streams { _ = await stream.result }
            try await client.shutdown()
        }

        /// A long prompt that shares no prefix with the others (its number comes first).
        static func longPrompt(_ k: Int, sentences: Int) -> String {
            "Request \(k). Summarise these notes. "
                + (0..<sentences).map { "Note \($0): the tide tables for harbour \($0 * 7 + k) changed again this week." }.joined(
                    separator: " ")
        }
    }
}

/// When each stream's tokens arrived.
actor TokenTimes {
    private var arrivals: [Int: [ContinuousClock.Instant]] = [:]

    func add(_ stream: Int, at time: ContinuousClock.Instant) { arrivals[stream, default: []].append(time) }
    func fewest(of streams: [Int]) -> Int { streams.map { arrivals[$0]?.count ?? 0 }.min() ?? 0 }
    func first(of stream: Int) -> ContinuousClock.Instant? { arrivals[stream]?.first }

    /// Every gap between two consecutive tokens of the streams.
    func gaps(of streams: [Int]) -> [(start: ContinuousClock.Instant, end: ContinuousClock.Instant, seconds: Double)] {
        streams.flatMap { stream -> [(start: ContinuousClock.Instant, end: ContinuousClock.Instant, seconds: Double)] in
            let times = arrivals[stream] ?? []
            return zip(times, times.dropFirst()).map { ($0, $1, seconds($1 - $0)) }
        }
    }
}

/// The benchmark's requests to the server in process.
struct PrefillBenchCalls: Sendable {
    let client: HTTPClient
    let port: Int

    func request(_ body: ChatCompletionRequestBody) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: try JSONFile.encode(body)))
        return request
    }

    /// A streamed request; the arrival of every chunk with text is recorded under `id`.
    func stream(_ question: String, id: Int, maxTokens: Int, into times: TokenTimes) async throws {
        let body = ChatCompletionRequestBody(
            model: "bench", messages: [WireMessage(role: "user", content: question)], temperature: 1, maxTokens: maxTokens,
            seed: id + 100, stream: true)
        let response = try await client.execute(try request(body), timeout: .seconds(600))
        var pending = ""
        for try await buffer in response.body {
            let now = ContinuousClock.now
            pending += String(buffer: buffer)
            while let end = pending.range(of: "\n\n") {
                let event = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                guard event.hasPrefix("data: {"),
                    let chunk = try? JSONFile.decode(
                        ChatCompletionChunk.self, from: String(event.dropFirst(6)), source: "a streamed chunk"),
                    chunk.choices.contains(where: { $0.delta.content?.isEmpty == false })
                else { continue }
                await times.add(id, at: now)
            }
        }
    }

    /// A whole 8-token answer (sampled as the streams are: requests with other settings would
    /// not join their batch); returns its prompt's token count.
    func whole(_ question: String) async throws -> Int {
        let body = ChatCompletionRequestBody(
            model: "bench", messages: [WireMessage(role: "user", content: question)], temperature: 1, maxTokens: 8, seed: 1)
        let response = try await client.execute(try request(body), timeout: .seconds(600))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        let reply = try JSONFile.decode(ChatCompletion.self, from: text, source: "the server's reply")
        return reply.usage?.promptTokens ?? 0
    }
}

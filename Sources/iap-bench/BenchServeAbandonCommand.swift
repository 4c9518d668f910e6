import ArgumentParser
import CommandSupport
import Foundation
import ModelFormats
import Serving
import Torch
import Transformers

#if canImport(Glibc)
    import Glibc
#endif

extension BenchCommand {
    /// Latency of a small request to `iap serve` (in process) alone, and while a large
    /// streaming request occupies the model until its client goes away (issue 18 item 9):
    /// the small request should wait about as long as the large one's client stayed, not for
    /// the large one's whole generation.
    struct ServeAbandon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve-abandon", abstract: "Small-request latency of the chat server alone and behind an abandoned large stream.")

        @Option var model = "smollm2-135m-instruct"
        @Option(help: "Completions (n) and tokens of the large streaming request.")
        var largeN = 16
        @Option var largeMaxTokens = 4000
        @Option(help: "Seconds the large request's client stays after the small request is sent.")
        var stay = 2.0
        @Option var threads = 2

        func run() async throws {
            let server = try await BenchCommand.startServer(model: model, threads: threads)
            do { try await measure(port: server.port) } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }

        func measure(port: Int) async throws {
            _ = try await Self.timedSmallRequest(port: port)  // warm-up
            let alone = try await Self.timedSmallRequest(port: port)
            let large = try LoopbackConnection(port: port, receiveTimeout: 600)
            large.send(
                Self.request(
                    #"{"messages":[{"role":"user","content":"Write a very long story."}],"temperature":2,"stream":true,"n":"#
                        + "\(largeN),\"max_tokens\":\(largeMaxTokens)}"))
            _ = await DedicatedThread.run { large.read(until: #"{"content""#).text }
            let small = Task { try await Self.timedSmallRequest(port: port) }
            try await Task.sleep(nanoseconds: UInt64(stay * 1e9))
            large.close()
            let behind = try await small.value
            BenchResult.print(
                BenchResult.ServeAbandon(
                    largeN: largeN, largeMaxTokens: largeMaxTokens, staySeconds: stay, smallAloneS: rounded(alone, 3),
                    smallBehindAbandonedS: rounded(behind, 3), threads: threads))
        }

        /// Seconds for a greedy 8-token request, sent on a connection of its own.
        static func timedSmallRequest(port: Int) async throws -> Double {
            let start = ContinuousClock.now
            let socket = try LoopbackConnection(port: port, receiveTimeout: 600)
            socket.send(request(#"{"messages":[{"role":"user","content":"Say hi."}],"temperature":0,"max_tokens":8}"#, close: true))
            let reply = await DedicatedThread.run { socket.read().text }
            guard reply.contains("HTTP/1.1 200") else { throw CLI.failure("the small request failed: \(reply.prefix(300))") }
            return seconds(ContinuousClock.now - start)
        }

        static func request(_ body: String, close: Bool = false) -> String {
            let headers = ["Host: 127.0.0.1", "Content-Type: application/json"] + (close ? ["Connection: close"] : [])
            return LoopbackConnection.request(headers: headers, body: body)
        }
    }

    /// An in-process server for a benchmark; `stop()` ends its generation before the
    /// application, so the benchmark never exits while libtorch still runs on another thread.
    struct RunningServer {
        let port: Int
        let server: OpenAIServer
        let task: Task<Void, Error>

        func stop() async {
            await server.queue.shutdown()
            task.cancel()
        }
    }

    /// `iap serve` over `model` in this process on a free loopback port.
    static func startServer(
        model: String, threads: Int, batching: Batching = .continuous, prefixCache: Bool = true, prefillChunk: Int? = nil
    ) async throws -> RunningServer {
        Torch.threads = threads
        Torch.keepFreedMemory()
        let files = try CLI.openModel(model)
        let lm = try CausalLM.load(files)
        var settings = OpenAIServer.Settings(modelName: "bench")
        settings.port = 0
        settings.batching = batching
        if !prefixCache { settings.prefixCacheBytes = 0 }
        settings.prefillChunkTokens = prefillChunk
        let server = OpenAIServer(
            model: lm, tokenizer: try CLI.loadTokenizer(files), template: try files.chatTemplate(), settings: settings)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = server.application { continuation.yield($0) }
        let task = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            throw CLI.failure("the server did not start")
        }
        return RunningServer(port: port, server: server, task: task)
    }
}

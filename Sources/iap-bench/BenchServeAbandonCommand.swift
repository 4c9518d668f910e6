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
            Torch.threads = threads
            Torch.keepFreedMemory()
            let files = try CLI.openModel(model)
            let lm = try CausalLM.load(files)
            var settings = OpenAIServer.Settings(modelName: "bench")
            settings.port = 0
            let server = OpenAIServer(model: lm, tokenizer: try CLI.loadTokenizer(files), template: try files.chatTemplate(), settings: settings)
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let app = server.application { continuation.yield($0) }
            let task = Task { try await app.run() }
            defer { task.cancel() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CLI.failure("the server did not start") }

            _ = try await Self.timedSmallRequest(port: port)  // warm-up
            let alone = try await Self.timedSmallRequest(port: port)
            let large = try BenchSocket(port: port)
            large.send(Self.request(
                #"{"messages":[{"role":"user","content":"Write a very long story."}],"temperature":2,"stream":true,"n":"#
                    + "\(largeN),\"max_tokens\":\(largeMaxTokens)}"))
            _ = await DedicatedThread.run { large.read(until: #"{"content""#) }
            let small = Task { try await Self.timedSmallRequest(port: port) }
            try await Task.sleep(nanoseconds: UInt64(stay * 1e9))
            large.close()
            let behind = try await small.value
            BenchResult.print(BenchResult.ServeAbandon(
                largeN: largeN, largeMaxTokens: largeMaxTokens, staySeconds: stay, smallAloneS: rounded(alone, 3),
                smallBehindAbandonedS: rounded(behind, 3), threads: threads))
        }

        /// Seconds for a greedy 8-token request, sent on a connection of its own.
        static func timedSmallRequest(port: Int) async throws -> Double {
            let start = ContinuousClock.now
            let socket = try BenchSocket(port: port)
            socket.send(request(#"{"messages":[{"role":"user","content":"Say hi."}],"temperature":0,"max_tokens":8}"#, close: true))
            let reply = await DedicatedThread.run { socket.read(until: nil) }
            guard reply.contains("HTTP/1.1 200") else { throw CLI.failure("the small request failed: \(reply.prefix(300))") }
            return seconds(ContinuousClock.now - start)
        }

        static func request(_ body: String, close: Bool = false) -> String {
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + (close ? "Connection: close\r\n" : "") + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        }
    }
}

/// A loopback TCP connection whose client can walk away mid-response (a real HTTP client
/// library hides when it closes).
final class BenchSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw CLI.failure("cannot connect to 127.0.0.1:\(port)") }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Text until `marker` appears or the server closes.
    func read(until marker: String?) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += buffer[0..<n]
            if let marker, String(decoding: received, as: UTF8.self).contains(marker) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { _ = Glibc.close(fd) }
}

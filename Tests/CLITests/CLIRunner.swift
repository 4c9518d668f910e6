import Foundation
import Testing

/// The repository folder (tests run the built binary from there).
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What a run of the `iap` binary gave.
struct CommandResult {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs `.build/debug/iap` (built by `make test` before the tests) in the repository folder.
protocol RunsIAP {}

extension RunsIAP {
    var binary: String { repository.appendingPathComponent(".build/debug/iap").path }

    /// Runs the binary to its end; `interruptWhen` sends one SIGINT (SIGTERM when `terminate`)
    /// as soon as standard error contains that text (checked every 0.2 s). `environment`
    /// adds to (or replaces in) the test process's own variables.
    func iap(
        _ arguments: [String], interruptWhen marker: String? = nil, terminate: Bool = false,
        environment: [String: String] = [:]
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = repository
        // Output goes to files (no pipe can fill up and block the child).
        let stem = FileManager.default.temporaryDirectory.appendingPathComponent("iap-cli-io-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: stem + ".out", contents: nil)
        FileManager.default.createFile(atPath: stem + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: stem + ".out")
            try? FileManager.default.removeItem(atPath: stem + ".err")
        }
        process.standardOutput = FileHandle(forWritingAtPath: stem + ".out")
        process.standardError = FileHandle(forWritingAtPath: stem + ".err")
        process.standardInput = FileHandle.nullDevice
        try process.run()
        if let marker {
            while process.isRunning {
                let soFar = String(decoding: FileManager.default.contents(atPath: stem + ".err") ?? Data(), as: UTF8.self)
                if soFar.contains(marker) {
                    if terminate { process.terminate() } else { process.interrupt() }
                    break
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        process.waitUntilExit()
        let output = String(decoding: FileManager.default.contents(atPath: stem + ".out") ?? Data(), as: UTF8.self)
        let errors = String(decoding: FileManager.default.contents(atPath: stem + ".err") ?? Data(), as: UTF8.self)
        if process.terminationReason == .uncaughtSignal {
            return CommandResult(
                status: 128 + process.terminationStatus, output: output, errors: errors + "\nkilled by signal \(process.terminationStatus)")
        }
        return CommandResult(status: process.terminationStatus, output: output, errors: errors)
    }

    @discardableResult
    func succeed(_ arguments: [String]) throws -> CommandResult {
        let r = try iap(arguments)
        #expect(
            r.status == 0,
            "iap \(arguments.joined(separator: " ")) failed (\(r.status)):\n\(r.errors.suffix(2000))\n\(r.output.suffix(500))")
        if r.status != 0 { throw CancellationError() }
        return r
    }

    /// A fresh temporary folder.
    func scratch(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("iap-\(label)-\(UUID().uuidString)").path
    }

    var binaryIsBuilt: Bool { FileManager.default.isExecutableFile(atPath: binary) }
}

/// A loopback server that accepts connections and never replies: a judge (or a store) that
/// hangs. `waitForCaller` returns once something has connected.
final class SilentServer {
    let socketDescriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        socketDescriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        try #require(listening && listen(descriptor, 64) == 0)
    }

    deinit { close(socketDescriptor) }

    /// `iap train` settings that send every judge call here.
    var judgeSettings: [String] {
        ["--set", "judge.backend=openai", "--set", "judge.model=m", "--set", "judge.urls=[\"http://127.0.0.1:\(port)/v1\"]"]
    }

    /// True once a client has connected (within `seconds`).
    func waitForCaller(seconds: Int) -> Bool {
        var waiting = pollfd(fd: socketDescriptor, events: Int16(POLLIN), revents: 0)
        return poll(&waiting, 1, Int32(seconds * 1000)) == 1
    }
}

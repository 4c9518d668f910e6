import Foundation
@testable import Serving

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback TCP connection that sends exactly the bytes a test writes — headers a real
/// client would fix up (Host, Content-Type), bodies cut short, connections dropped midway.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int, receiveTimeout seconds: Int = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard fd >= 0, connected == 0 else { throw RawHTTPError("cannot connect to port \(port)") }
    }

    deinit { close() }

    func close() { _ = Glibc.close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Bytes until the server closes the connection, `until` appears, or the receive timeout
    /// passes; `closedByServer` says whether the connection ended.
    func read(until marker: String? = nil) -> (text: String, closedByServer: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: received, as: UTF8.self), false) }
            received += buffer[0..<n]
            if let marker, String(decoding: received, as: UTF8.self).contains(marker) { return (String(decoding: received, as: UTF8.self), false) }
        }
    }

    /// A complete request: `POST path` with the given headers (nothing added) and body.
    static func request(_ method: String = "POST", _ path: String = "/v1/chat/completions", headers: [String], body: String = "") -> String {
        var lines = ["\(method) \(path) HTTP/1.1"] + headers
        if !body.isEmpty { lines.append("Content-Length: \(body.utf8.count)") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    /// Sends one request and reads the whole response (the server closes: `Connection: close`).
    static func exchange(port: Int, headers: [String], body: String = "", method: String = "POST", path: String = "/v1/chat/completions")
        throws -> String
    {
        let connection = try RawConnection(port: port)
        connection.send(request(method, path, headers: headers + ["Connection: close"], body: body))
        return connection.read().text
    }
}

/// Blocking socket calls run on a thread of their own: on the cooperative pool (2 threads on
/// 2 cores) they would starve the server under test.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await DedicatedThread.run { Result { try body() } }.get()
}

struct RawHTTPError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The status code of a raw HTTP response ("HTTP/1.1 403 Forbidden…" → 403; 0 if none).
func statusCode(_ response: String) -> Int {
    let parts = response.split(separator: " ", maxSplits: 2)
    return parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
}

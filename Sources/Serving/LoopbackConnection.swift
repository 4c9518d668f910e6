#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to 127.0.0.1 that sends exactly the bytes given — headers a real
/// client would fix up, bodies cut short — and can walk away mid-response (an HTTP client
/// library hides when it closes). For the server's tests and benchmarks.
public final class LoopbackConnection: @unchecked Sendable {
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    let fd: Int32

    /// `receiveTimeout`: seconds a read waits for data before giving up.
    public init(port: Int, receiveTimeout seconds: Int = 30) throws(Refused) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard fd >= 0, connected == 0 else { throw Refused(description: "cannot connect to 127.0.0.1:\(port)") }
    }

    deinit { close() }

    public func close() { _ = Glibc.close(fd) }

    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Bytes until the server closes the connection, `marker` appears, or the receive timeout
    /// passes; `closedByServer` says whether the connection ended.
    public func read(until marker: String? = nil) -> (text: String, closedByServer: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: received, as: UTF8.self), false) }
            received += buffer[0..<n]
            if let marker, String(decoding: received, as: UTF8.self).contains(marker) {
                return (String(decoding: received, as: UTF8.self), false)
            }
        }
    }

    /// An HTTP/1.1 request with exactly these headers (plus Content-Length for a body).
    public static func request(_ method: String = "POST", _ path: String = "/v1/chat/completions", headers: [String], body: String = "")
        -> String
    {
        var lines = ["\(method) \(path) HTTP/1.1"] + headers
        if !body.isEmpty { lines.append("Content-Length: \(body.utf8.count)") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }
}

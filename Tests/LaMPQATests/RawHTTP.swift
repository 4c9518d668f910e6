import Foundation
@testable import Serving

/// The server tests' raw client (`LoopbackConnection`).
typealias RawConnection = LoopbackConnection

extension LoopbackConnection {
    /// Sends one request and reads the whole response (the server closes: `Connection: close`).
    static func exchange(port: Int, headers: [String], body: String = "", method: String = "POST", path: String = "/v1/chat/completions")
        throws -> String
    {
        let connection = try LoopbackConnection(port: port)
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

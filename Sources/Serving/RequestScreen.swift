import Hummingbird

/// What a request must show before it reaches a route, against browsers and strangers:
/// a `Host` the server answers to (a page on evil.example that rebinds its name to
/// 127.0.0.1 still sends `Host: evil.example`), `Content-Type: application/json` on POST (a
/// cross-origin form cannot send it without a CORS preflight, which we never grant), and the
/// API key when one is set. `/health` needs only the host check.
public struct RequestScreen: Sendable {
    /// Names besides IP literals and `localhost` that `Host` may carry (`*`: any).
    public var allowedHosts: [String]
    public var apiKey: String?

    public init(allowedHosts: [String] = [], apiKey: String? = nil) {
        self.allowedHosts = allowedHosts
        self.apiKey = apiKey
    }

    /// Nil when the request may go on; otherwise the error to answer with.
    /// `authority`: the request's Host (HTTP/1.1) or :authority (HTTP/2).
    public func check(method: HTTPRequest.Method, path: String, authority: String?, headers: HTTPFields) -> APIError? {
        guard let host = authority else { return APIError(parameter: "Host", "the request has no Host header") }
        guard allows(host: host) else {
            return APIError(
                status: 403, type: "permission_error", parameter: "Host",
                "Host \(RequestScreen.quoted(host)) is not served here; start the server with --allowed-host NAME to answer to that name")
        }
        if path == "/health" { return nil }
        if let apiKey, !RequestScreen.sameKey(headers[.authorization], "Bearer " + apiKey) {
            return APIError(status: 401, type: "authentication_error", "a valid API key is required (Authorization: Bearer KEY)")
        }
        if method == .post {
            let type = headers[.contentType]?.split(separator: ";").first?.trimmingWhitespace().lowercased()
            guard type == "application/json" else {
                return APIError(status: 415, parameter: "Content-Type", "requests must be sent as Content-Type: application/json")
            }
        }
        return nil
    }

    /// IP literals (v4 or bracketed v6), `localhost` and the configured names; the port is
    /// ignored.
    func allows(host header: String) -> Bool {
        let name = RequestScreen.hostName(header).lowercased()
        if name.isEmpty { return false }
        if name == "localhost" || name.hasSuffix(".localhost") || allowedHosts.contains("*") { return true }
        if name.hasPrefix("[") && name.hasSuffix("]") { return true }
        if RequestScreen.isIPv4(name) { return true }
        return allowedHosts.contains { $0.lowercased() == name }
    }

    /// `Host` without its port: `name:8000` → `name`, `[::1]:8000` → `[::1]`.
    static func hostName(_ header: String) -> String {
        let trimmed = header.trimmingWhitespace()
        if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") { return String(trimmed[...close]) }
        return String(trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    static func isIPv4(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }

    /// Compares in time independent of where the strings first differ.
    static func sameKey(_ given: String?, _ expected: String) -> Bool {
        let a = Array((given ?? "").utf8)
        let b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count { difference |= b[i] ^ (i < a.count ? a[i] : 0) }
        return difference == 0
    }

    static func quoted(_ text: String) -> String {
        let shown = text.unicodeScalars.prefix(100).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "?" }.joined()
        return "'" + shown + "'"
    }
}

/// Runs `RequestScreen` in front of every route.
struct RequestScreenMiddleware<Context: RequestContext>: RouterMiddleware {
    let screen: RequestScreen

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let error = screen.check(
            method: request.method, path: request.uri.path, authority: request.head.authority, headers: request.headers)
        {
            return OpenAIServer.json(error.body, status: error.status)
        }
        return try await next(request, context)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

import Foundation
import HTTPTypes
import Hub
import Hummingbird
import NIOCore

/// A Hugging Face Hub of our own on loopback, serving what the client asks of the real one:
/// `/api/models/{org}/{name}/revision/{rev}` (commit and files), HEAD and GET on
/// `/{org}/{name}/resolve/{rev}/{path}` — and the same for datasets under `api/datasets/` and
/// `datasets/` (repositories keyed `datasets/org/name`; another branch than main keyed
/// `…@branch`, e.g. `datasets/org/name@refs/convert/parquet`) (`X-Repo-Commit`, `ETag`; for `.safetensors` files the
/// LFS answer: a 302 to `/cdn/{org}/{name}/<sha256>` on `localhost` — another host than the endpoint's
/// 127.0.0.1 — with `X-Linked-Etag` and `X-Linked-Size`), `Range` on the CDN. Misbehaviour on
/// purpose: a gated repository (401 without the token), files whose bytes are wrong, a CDN that
/// drops the connection half-way through a file once.
public final class HubTestServer: @unchecked Sendable {
    public struct Repository {
        public var commit: String
        public var files: [String: [UInt8]]
        public var gated = false
        /// Files served with different bytes than their SHA-256 says.
        public var corrupt: Set<String> = []
        public init(commit: String, files: [String: [UInt8]], gated: Bool = false, corrupt: Set<String> = []) {
            (self.commit, self.files, self.gated, self.corrupt) = (commit, files, gated, corrupt)
        }
    }

    public static let token = "hf_test_token"
    private let lock = NSLock()
    private var repositories: [String: Repository]
    private var requests: [(path: String, range: String?, authorization: String?)] = []
    /// CDN paths that drop the connection half-way, once each.
    private var dropOnce: Set<String> = []

    public init(_ repositories: [String: Repository]) { self.repositories = repositories }

    public func dropHalfway(_ repository: String, sha256: String) { lock.withLock { _ = dropOnce.insert("/cdn/\(repository)/\(sha256)") } }
    public var log: [(path: String, range: String?, authorization: String?)] { lock.withLock { requests } }

    private func record(_ request: Request) {
        lock.withLock { requests.append((request.uri.path, request.headers[.range], request.headers[.authorization])) }
    }

    public static func sha256(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.hexDigest()
    }

    public func application(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        for (api, prefix) in [("api/models", ""), ("api/datasets", "datasets/")] {
            router.get("\(api)/:org/:name/revision/:rev") { request, context in
                try self.revision(request, context: context, prefix: prefix)
            }
            for method in [HTTPRequest.Method.head, .get] {
                router.on("/\(prefix):org/:name/resolve/:rev/**", method: method) { request, context in
                    try self.resolve(request, context: context, prefix: prefix, head: method == .head)
                }
            }
        }
        router.get("/cdn/**") { request, context in
            let parts = context.parameters.getCatchAll()
            guard let sha = parts.last else { return Response(status: .notFound) }
            return try self.cdn(request, repository: parts.dropLast().joined(separator: "/"), sha: String(sha))
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { await onRunning($0.localAddress?.port ?? 0) })
    }

    /// The repository a request names: `prefix` + `org/name`, at `rev` when a branch of that
    /// name is registered (`…@rev`), else the one whose commit `rev` is, else main.
    private func lookup(_ context: some RequestContext, prefix: String) throws -> (key: String, repo: Repository)? {
        let id = try prefix + context.parameters.require("org") + "/" + context.parameters.require("name")
        let rev = try context.parameters.require("rev").removingPercentEncoding ?? ""
        return lock.withLock {
            if let repo = repositories["\(id)@\(rev)"] { return ("\(id)@\(rev)", repo) }
            if let hit = repositories.first(where: { ($0.key == id || $0.key.hasPrefix(id + "@")) && $0.value.commit == rev }) {
                return (hit.key, hit.value)
            }
            return repositories[id].map { (id, $0) }
        }
    }

    private func revision(_ request: Request, context: some RequestContext, prefix: String) throws -> Response {
        record(request)
        guard let (key, repo) = try lookup(context, prefix: prefix) else { return Response(status: .notFound) }
        if repo.gated && request.headers[.authorization] != "Bearer \(Self.token)" { return Response(status: .unauthorized) }
        let siblings = repo.files.keys.sorted().map { #"{"rfilename": "\#($0)"}"# }.joined(separator: ", ")
        let body = #"{"id": "\#(key)", "sha": "\#(repo.commit)", "siblings": [\#(siblings)]}"#
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func resolve(_ request: Request, context: some RequestContext, prefix: String, head: Bool) throws -> Response {
        record(request)
        let path = context.parameters.getCatchAll().joined(separator: "/")
        guard let (id, repo) = try lookup(context, prefix: prefix), let bytes = repo.files[path] else { return Response(status: .notFound) }
        if repo.gated && request.headers[.authorization] != "Bearer \(Self.token)" { return Response(status: .unauthorized) }
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Repo-Commit")!] = repo.commit
        guard path.hasSuffix(".safetensors") || path.hasSuffix(".parquet") else {
            headers[.eTag] = "\"" + String(Self.sha256(bytes).prefix(40)) + "\""
            headers[.contentLength] = "\(bytes.count)"
            return Response(status: .ok, headers: headers, body: head ? .init() : .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let sha = Self.sha256(bytes)
        headers[HTTPField.Name("X-Linked-Etag")!] = "\"\(sha)\""
        headers[HTTPField.Name("X-Linked-Size")!] = "\(bytes.count)"
        headers[.eTag] = "\"not-the-sha\""
        headers[.location] = "http://localhost:\(request.head.authority?.split(separator: ":").last ?? "0")/cdn/\(id)/\(sha)"
        return Response(status: .found, headers: headers)
    }

    private func cdn(_ request: Request, repository: String, sha: String) throws -> Response {
        record(request)
        let found = lock.withLock { () -> (bytes: [UInt8], corrupt: Bool, drop: Bool)? in
            guard let repo = repositories[repository] else { return nil }
            for (path, bytes) in repo.files where Self.sha256(bytes) == sha {
                return (bytes, repo.corrupt.contains(path), dropOnce.remove(request.uri.path) != nil)
            }
            return nil
        }
        guard var (bytes, corrupt, drop) = found else { return Response(status: .notFound) }
        if corrupt { bytes[bytes.count / 2] ^= 0xFF }
        var start = 0
        var headers = HTTPFields()
        if let range = request.headers[.range], range.hasPrefix("bytes="),
            let from = Int(range.dropFirst(6).split(separator: "-").first ?? "")
        {
            start = min(from, bytes.count)
            headers[.contentRange] = "bytes \(start)-\(bytes.count - 1)/\(bytes.count)"
        }
        let body = Array(bytes[start...])
        headers[.contentLength] = "\(body.count)"
        let status: HTTPResponse.Status = start > 0 ? .partialContent : .ok
        guard drop else { return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body))) }
        return Response(
            status: status, headers: headers,
            body: .init(contentLength: body.count) { writer in
                try await writer.write(ByteBuffer(bytes: body[..<(body.count / 2)]))
                throw CancellationError()  // the connection goes down half-way
            })
    }
}

/// Runs the test Hub on a free loopback port for the duration of `body`, which gets the port.
public func withHubServer<T: Sendable>(_ server: HubTestServer, _ body: (Int) async throws -> T) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let application = server.application { port in continuation.yield(port) }
    let task = Task { try await application.run() }
    defer { task.cancel() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw HubError("the test Hub did not start") }
    return try await body(port)
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `/api/{models|datasets}/{id}/revision/{rev}`: the commit and the repository's files.
struct RevisionInfo: Decodable {
    struct Sibling: Decodable { let rfilename: String }
    let sha: String
    let siblings: [Sibling]
}

/// What a HEAD on a file's resolve URL says: where its bytes are, what they hash to, how many.
struct FileMetadata {
    let etag: String
    let size: Int?
    let location: String
    /// An LFS file's etag is the SHA-256 of its bytes.
    var sha256: String? { etag.count == 64 && etag.allSatisfy(\.isHexDigit) ? etag.lowercased() : nil }
}

/// One repository's download: the HTTP calls and the cache writes, errors naming the file.
struct HubSession {
    let client: HubClient
    let http: HTTPClient
    let repository: HubRepository
    let log: (String) -> Void
    /// Files download side by side: progress goes to plain lines, not one rewritten line.
    var parallel = false

    var repoFolder: String { client.cache.folder(of: repository) }

    func revisionInfo() throws(HubError) -> RevisionInfo {
        let revision =
            repository.revisionOrMain.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._"))) ?? ""
        let url = "\(client.endpoint)/\(repository.apiPath)/revision/\(revision)"
        let response = try send(url, method: .GET, what: "the revision \(repository.revisionOrMain)")
        do {
            return try JSONDecoder().decode(RevisionInfo.self, from: Data(response.body.map { Array($0.readableBytesView) } ?? []))
        } catch {
            throw HubError("\(url): not the Hub's revision answer (\(error)); is HF_ENDPOINT (\(client.endpoint)) a Hub?")
        }
    }

    /// The file's metadata: HEAD without following redirects; a relative redirect (a renamed
    /// repository) is asked again, an absolute one is where the bytes are.
    func metadata(_ path: String, commit: String) throws(HubError) -> FileMetadata {
        var url = "\(client.endpoint)/\(repository.pagePath)/resolve/\(commit)/\(path)"
        for _ in 0..<5 {
            let head = try send(url, method: .HEAD, what: path)
            let headers = head.headers
            guard let tag = headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag") else {
                throw HubError("\(url): the answer has no ETag; is HF_ENDPOINT (\(client.endpoint)) a Hub?")
            }
            let size = (headers.first(name: "X-Linked-Size") ?? headers.first(name: "Content-Length")).flatMap { Int($0) }
            if (300..<400).contains(Int(head.status.code)), let location = headers.first(name: "Location") {
                if location.hasPrefix("/") {
                    url = client.endpoint + location
                    continue
                }
                return FileMetadata(etag: Self.normalizedEtag(tag), size: size, location: location)
            }
            return FileMetadata(etag: Self.normalizedEtag(tag), size: size, location: url)
        }
        throw HubError("\(path) of \(repository): more than 5 redirects")
    }

    static func normalizedEtag(_ tag: String) -> String {
        var text = Substring(tag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return String(text.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    }

    /// Fetches one file into its blob (unless present); returns the blob's name for `link`.
    func fetchBlob(_ path: String, commit: String) throws(HubError) -> String {
        let meta = try metadata(path, commit: commit)
        guard !meta.etag.isEmpty, !meta.etag.contains("/"), !meta.etag.contains("..") else {
            throw HubError("\(path) of \(repository): the Hub's ETag \(meta.etag.debugDescription) cannot name a file")
        }
        let blob = repoFolder + "/blobs/" + meta.etag
        try HubFileSystem.makeDirectories(repoFolder + "/blobs")
        let lock = try HubFileSystem.lock(client.cache.root + "/.locks/" + repository.cacheFolderName + "/" + meta.etag + ".lock")
        defer { HubFileSystem.unlock(lock) }
        if !HubFileSystem.exists(blob) { try downloadBlob(path, meta: meta, to: blob) }
        return meta.etag
    }

    /// Links a fetched blob from the snapshot (relative, as huggingface_hub links).
    func link(_ path: String, blob: String, commit: String) throws(HubError) {
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + blob
        try HubFileSystem.link(repoFolder + "/snapshots/" + commit + "/" + path, to: target)
    }

    /// GET with `Range` from what an earlier attempt left; checked, then renamed into place.
    private func downloadBlob(_ path: String, meta: FileMetadata, to blob: String) throws(HubError) {
        let partial = blob + ".incomplete"
        let writer = try BlobWriter(path: partial, file: "\(path) of \(repository)")
        let already = writer.resumedBytes
        log(
            "downloading \(path)" + (meta.size.map { " (\(Self.megabytes($0)))" } ?? "")
                + (already > 0 ? ", resuming at \(Self.megabytes(already))" : ""))
        writer.progress =
            parallel
            ? DownloadProgress(file: path, total: meta.size, resumed: already, log: log, terminal: false)
            : DownloadProgress(file: path, total: meta.size, resumed: already, log: log)
        var headers = authorization(for: meta.location)
        if already > 0 { headers.add(name: "Range", value: "bytes=\(already)-") }
        let request: HTTPClient.Request
        do { request = try HTTPClient.Request(url: meta.location, method: .GET, headers: headers) } catch {
            throw HubError("\(path) of \(repository): bad download URL \(meta.location)")
        }
        do {
            _ = try http.execute(request: request, delegate: writer).wait()
        } catch {
            throw HubError("\(path) of \(repository): the download stopped (\(error)); run the command again to continue it")
        }
        try writer.finish(expectedSize: meta.size, sha256: meta.sha256)
        try HubFileSystem.rename(partial, to: blob)
    }

    static func megabytes(_ bytes: Int) -> String { DownloadProgress.megabytes(bytes) }

    /// The token goes to the Hub's own host only, never to a CDN or another host.
    func authorization(for url: String) -> HTTPHeaders {
        var headers = HTTPHeaders([("User-Agent", "iap")])
        if let token = client.token, URL(string: url)?.host == URL(string: client.endpoint)?.host {
            headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        return headers
    }

    func send(_ url: String, method: HTTPMethod, what: String) throws(HubError) -> HTTPClient.Response {
        let response: HTTPClient.Response
        do {
            let request = try HTTPClient.Request(url: url, method: method, headers: authorization(for: url))
            response = try http.execute(request: request, deadline: .now() + .seconds(60)).wait()
        } catch {
            throw HubError("could not reach \(client.endpoint) for \(what) of \(repository): \(error)")
        }
        switch response.status.code {
        case 200..<400: return response
        case 401, 403:
            throw HubError(
                "\(repository) is gated or private (HTTP \(response.status.code)): request access on "
                    + "\(client.endpoint)/\(repository.pagePath) and set HF_TOKEN to a token that has it.")
        case 404:
            throw HubError("\(client.endpoint) has no \(what) of \(repository) (HTTP 404): check the repository id and revision.")
        default:
            throw HubError("\(client.endpoint) answered HTTP \(response.status.code) for \(what) of \(repository).")
        }
    }
}

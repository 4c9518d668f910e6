import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Downloads a model repository from the Hugging Face Hub (or a mirror, `HF_ENDPOINT`) into
/// the shared cache, as huggingface_hub does: the revision resolved to a commit
/// (`/api/models/{id}/revision/{rev}`), each needed file's metadata from a HEAD on
/// `/{id}/resolve/{commit}/{path}` (`X-Linked-Etag`: an LFS file's SHA-256; `ETag` otherwise;
/// `X-Linked-Size` over a redirect's length), its bytes fetched into
/// `blobs/<etag>.incomplete` (continued with `Range` after an interruption), checked against
/// the SHA-256 before the rename that makes it a blob, then linked from the snapshot; the
/// ref written last. Blocking: callers are commands, and the work runs on NIO's threads.
public struct HubClient: Sendable {
    public let endpoint: String
    let token: String?
    public let cache: HubCache

    public init(endpoint: String = HubClient.defaultEndpoint, token: String? = HubClient.defaultToken, cache: HubCache = HubCache()) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.token = token
        self.cache = cache
    }

    /// `HF_ENDPOINT`, else https://huggingface.co.
    public static var defaultEndpoint: String { HubCache.environment("HF_ENDPOINT") ?? "https://huggingface.co" }

    /// `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the token file `hf auth login` writes.
    public static var defaultToken: String? {
        if let token = HubCache.environment("HF_TOKEN") ?? HubCache.environment("HUGGING_FACE_HUB_TOKEN") { return token }
        let home =
            HubCache.environment("HF_HOME")
            ?? ((HubCache.environment("XDG_CACHE_HOME") ?? ((HubCache.environment("HOME") ?? "/tmp") + "/.cache")) + "/huggingface")
        let token = HubCache.readSmallFile(home + "/token")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return token?.isEmpty == false ? token : nil
    }

    /// What a model needs from a repository's top-level files: configs, tokenizer and chat
    /// template files, the safetensors weights with their index — or `pytorch_model*.bin`
    /// where there are none — and adapter files.
    public static func neededFiles(_ files: [String]) -> [String] {
        let named: Set<String> = [
            "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model", "spm.model",
            "added_tokens.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "chat_template.jinja",
            "chat_template.json", "adapter_config.json", "adapter_model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin.index.json",
        ]
        let top = files.filter { !$0.contains("/") }
        let safetensors = top.filter { $0.hasSuffix(".safetensors") && $0.hasPrefix("model") }
        let weights = safetensors.isEmpty ? top.filter { $0.hasPrefix("pytorch_model") && $0.hasSuffix(".bin") } : safetensors
        return top.filter { named.contains($0) || weights.contains($0) }.filter {
            !($0 == "pytorch_model.bin.index.json" && !safetensors.isEmpty)
        }.sorted()
    }

    /// Fetches what the model repository's revision needs (files already in the cache are
    /// reused) and returns its snapshot folder.
    /// `log` escapes into the threads that fetch files side by side.
    public func download(_ repository: HubRepository, log: @escaping (String) -> Void = { _ in }) throws(HubError) -> String {
        try download(repository, log: log) { (files) throws(HubError) in
            let needed = Self.neededFiles(files)
            guard needed.contains("config.json") || needed.contains("adapter_config.json") else {
                throw HubError(
                    "\(repository) has no config.json (nor adapter_config.json) at its top level: not a model repository iap reads.")
            }
            return needed
        }.snapshot
    }

    /// Fetches the files `select` picks from the revision's list (a dataset's tables, say)
    /// and returns the snapshot folder with the picked paths, relative to it.
    public func download(
        _ repository: HubRepository, log: @escaping (String) -> Void = { _ in }, select: ([String]) throws(HubError) -> [String]
    ) throws(HubError) -> (snapshot: String, files: [String]) {
        if HubCache.isOffline {
            throw HubError(
                "\(repository) is not in the Hugging Face cache (\(cache.root)) and HF_HUB_OFFLINE is set: unset it to download.")
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        defer { try? http.syncShutdown() }
        let revision = try HubSession(client: self, http: http, repository: repository, log: log).revisionInfo()
        let files = try select(revision.siblings.map(\.rfilename))
        log("\(repository): \(files.count) files at commit \(revision.sha.prefix(12))")
        // Every blob first, then the snapshot's links: a download cut short leaves no snapshot
        // that looks complete, even for a commit-pinned revision (which has no ref to write last).
        let session = HubSession(client: self, http: http, repository: repository, log: log, parallel: true)
        let blobs = BlobNames()
        try ParallelFetch.run(files, width: 4) { (file) throws(HubError) in
            let blob = try session.fetchBlob(file, commit: revision.sha)
            blobs.set(file, blob)
        }
        for file in files { try session.link(file, blob: blobs.get(file), commit: revision.sha) }
        if !repository.revisionIsCommit {
            try HubFileSystem.writeAtomically(revision.sha, to: cache.folder(of: repository) + "/refs/" + repository.revisionOrMain)
        }
        return (cache.folder(of: repository) + "/snapshots/" + revision.sha, files)
    }
}

/// The blob each file of a download went into, filled from the fetching threads.
private final class BlobNames: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String: String] = [:]
    func set(_ file: String, _ blob: String) { lock.withLock { names[file] = blob } }
    func get(_ file: String) -> String { lock.withLock { names[file] ?? "" } }
}

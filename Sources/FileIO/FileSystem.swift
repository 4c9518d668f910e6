#if canImport(Glibc)
    import Glibc
#endif

/// Folder operations the layers above need (no Foundation at this level).
public enum FileSystem {
    /// `mkdir -p`; the error names the folder that could not be made.
    public static func makeDirectories(_ path: String) throws(FileIOError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if access(current, F_OK) != 0 && mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw FileIOError(path: current, reason: "cannot create the folder (\(FileIOError.systemReason))")
            }
        }
    }

    /// Whether anything exists at `path` (a file, a folder, a link to either).
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether `path` is a folder (following links).
    public static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a folder (without `.` and `..`), sorted; empty when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes a file; a missing one is fine.
    public static func removeFile(_ path: String) { unlink(path) }

    /// Removes a folder of plain files (checkpoints and the like); a missing folder is fine.
    public static func removeFolder(_ path: String) {
        guard isFolder(path) else {
            unlink(path)
            return
        }
        for name in list(path) { unlink(path + "/" + name) }
        rmdir(path)
    }

    /// Points `link` at `target` (relative to the link's folder), replacing an older link.
    public static func replaceLink(_ link: String, target: String) throws(FileIOError) {
        unlink(link)
        guard symlink(target, link) == 0 else {
            throw FileIOError(path: link, reason: "cannot link to \(target) (\(FileIOError.systemReason))")
        }
    }

    /// The last path component without a `.json` extension (`ra/r.json` → `r`).
    public static func baseName(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.hasSuffix(".json") ? String(name.dropLast(5)) : name
    }
}

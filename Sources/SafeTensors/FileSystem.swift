#if canImport(Glibc)
    import Glibc
#endif

/// Folder operations the layers above need (no Foundation at this level).
public enum FileSystem {
    /// `mkdir -p`; the error names the folder that could not be made.
    public static func makeDirectories(_ path: String) throws(SafeTensorsError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if access(current, F_OK) != 0 && mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SafeTensorsError(path: current, reason: "cannot create the folder (\(String(cString: strerror(errno))))")
            }
        }
    }

    /// Removes a folder of plain files (checkpoints and the like); a missing folder is fine.
    public static func removeFolder(_ path: String) {
        guard let dir = opendir(path) else {
            unlink(path)
            return
        }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { unlink(path + "/" + name) }
        }
        closedir(dir)
        rmdir(path)
    }
}

extension String {
    /// Every occurrence of `target` replaced, left to right (replaced text is not rescanned).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

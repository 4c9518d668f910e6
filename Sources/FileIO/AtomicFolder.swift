#if canImport(Glibc)
    import Glibc
#endif

/// A folder that appears whole or not at all: `fill` writes into a temporary sibling folder,
/// which is then swapped in for `folder` (an existing folder of that name is replaced; if
/// the swap fails, the old one is put back).
public enum AtomicFolder {
    /// Cleans up after writers that died in `replace` (killed, power lost): in `parent`, a
    /// `NAME.partial-PID` folder of a process that is gone is removed, and a
    /// `NAME.previous-PID` folder is put back as NAME when NAME is missing (the writer died
    /// between its two renames) or removed otherwise. Returns what was done, one line each.
    @discardableResult
    public static func recoverStale(in parent: String) -> [String] {
        var done: [String] = []
        for entry in FileSystem.list(parent) {
            for marker in [".partial-", ".previous-"] {
                guard let (name, pid) = split(entry, at: marker), pid != getpid(), kill(pid, 0) != 0 && errno == ESRCH else { continue }
                let path = parent + "/" + entry
                let original = parent + "/" + name
                if marker == ".previous-" && !FileSystem.exists(original) && rename(path, original) == 0 {
                    done.append("restored \(original) from \(entry) (a save was interrupted)")
                } else {
                    FileSystem.removeFolder(path)
                    done.append("removed \(path) (left by an interrupted save)")
                }
            }
        }
        return done
    }

    /// `NAME` and `PID` of `NAME<marker>PID`.
    private static func split(_ entry: String, at marker: String) -> (Substring, Int32)? {
        var i = entry.endIndex
        while i > entry.startIndex {
            i = entry.index(before: i)
            if entry[i...].hasPrefix(marker) {
                return Int32(entry[entry.index(i, offsetBy: marker.count)...]).map { (entry[..<i], $0) }
            }
        }
        return nil
    }

    public static func replace(_ folder: String, fill: (_ temporary: String) throws -> Void) throws {
        let temporary = folder + ".partial-\(getpid())"
        FileSystem.removeFolder(temporary)
        if let slash = folder.lastIndex(of: "/"), slash != folder.startIndex { try FileSystem.makeDirectories(String(folder[..<slash])) }
        guard mkdir(temporary, 0o755) == 0 else {
            throw FileIOError(path: folder, reason: "cannot create \(temporary) (\(FileIOError.systemReason))")
        }
        do {
            try fill(temporary)
            let previous = folder + ".previous-\(getpid())"
            let hadPrevious = FileSystem.exists(folder)
            if hadPrevious && rename(folder, previous) != 0 {
                throw FileIOError(path: folder, reason: "cannot move the old folder aside (\(FileIOError.systemReason))")
            }
            guard rename(temporary, folder) == 0 else {
                let reason = FileIOError.systemReason
                if hadPrevious { _ = rename(previous, folder) }
                throw FileIOError(path: folder, reason: "cannot rename \(temporary) into place (\(reason))")
            }
            if hadPrevious { FileSystem.removeFolder(previous) }
        } catch {
            FileSystem.removeFolder(temporary)
            throw error
        }
    }
}

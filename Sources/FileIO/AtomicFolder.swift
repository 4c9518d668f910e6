#if canImport(Glibc)
    import Glibc
#endif

/// A folder that appears whole or not at all: `fill` writes into a temporary sibling folder,
/// which is then swapped in for `folder` (an existing folder of that name is replaced; if
/// the swap fails, the old one is put back).
public enum AtomicFolder {
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

/// Whole-file reads and writes; a write never leaves a half-written file (see
/// `AtomicFileWriter`).
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(bytes)
        try writer.commit()
    }

    public static func write(_ text: String, to path: String) throws(FileIOError) {
        try write(Array(text.utf8), to: path)
    }

    /// The whole file, or an error naming it.
    public static func read(_ path: String) throws(FileIOError) -> [UInt8] {
        try MappedFile(path: path).withBytes { Array($0) }
    }

    /// The whole file as UTF-8 text (invalid bytes replaced).
    public static func readText(_ path: String) throws(FileIOError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }
}

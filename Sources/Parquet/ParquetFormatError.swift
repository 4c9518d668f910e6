/// An error inside the byte-level readers, before the file name is known; `ParquetFile`
/// turns it into a `FileIOError` naming the file and the column or page.
struct ParquetFormatError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

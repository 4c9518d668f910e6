import FileIO

/// Typed records of a JSON-lines file (see `JSONLinesFile` for the append guarantees).
public enum JSONLines {
    /// Appends one record as one line.
    public static func append<T: Encodable>(_ record: T, to path: String) throws(JSONFileError) {
        let line = try JSONFile.encode(record)
        do { try JSONLinesFile.append(line: line, to: path) } catch { throw JSONFileError(path: path, reason: error.reason) }
    }

    /// What reading a JSON-lines file found.
    public struct Contents<T> {
        public var records: [T]
        /// Lines that did not decode, as `file:line: reason` (a cut-off last line is one).
        public var skipped: [String]
    }

    /// The records that decode; the others are reported, not thrown (a killed writer may
    /// leave a partial last line). A missing file has no records.
    public static func read<T: Decodable>(_ type: T.Type = T.self, from path: String) throws(JSONFileError) -> Contents<T> {
        let lines: [(number: Int, text: Substring)]
        do { lines = try JSONLinesFile.lines(path) } catch { throw JSONFileError(path: path, reason: error.reason) }
        var out = Contents<T>(records: [], skipped: [])
        for (number, line) in lines {
            do throws(JSONFileError) {
                out.records.append(try JSONFile.decode(type, from: line, source: "\(path):\(number)"))
            } catch {
                out.skipped.append(error.description)
            }
        }
        return out
    }
}

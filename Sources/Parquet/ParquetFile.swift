import FileIO

/// A Parquet file read row group by row group (so a table larger than memory is never held
/// whole): flat and nested columns (structs, lists, LIST-annotated groups), PLAIN and
/// dictionary encodings, data pages v1 and v2, uncompressed or Snappy. Every malformed byte
/// is a `FileIOError` naming the file and the column; unsupported features (other codecs or
/// encodings, INT96) are named.
///
///     let table = try ParquetFile(path: "train/0000.parquet")
///     for g in 0..<table.rowGroupCount { for row in try table.rows(inRowGroup: g) { … } }
public struct ParquetFile: Sendable {
    public let path: String
    /// Rows in the whole file, as its footer states.
    public let rowCount: Int
    /// Top-level column names in schema order.
    public let columnNames: [String]
    private let metadata: FileMetadataBox

    public init(path: String) throws(FileIOError) {
        self.path = path
        let bytes: [UInt8]
        do { bytes = try MappedFile(path: path).withBytes { Array($0) } } catch { throw FileIOError(path: path, reason: error.reason) }
        do throws(ParquetFormatError) {
            let footer = try Self.footer(bytes)
            let metadata = try FileMetadata(footer)
            let root = try SchemaNode.tree(metadata.schema)
            for group in metadata.rowGroups where group.columns.count != root.leaves.count {
                throw ParquetFormatError("a row group has \(group.columns.count) columns, the schema \(root.leaves.count)")
            }
            rowCount = try ByteCursor.checkedCount(metadata.rowCount, limit: Int.max, "the row count")
            columnNames = root.children.map(\.element.name)
            self.metadata = FileMetadataBox(metadata: metadata, root: root, bytes: bytes)
        } catch {
            throw FileIOError(path: path, reason: error.reason)
        }
    }

    public var rowGroupCount: Int { metadata.metadata.rowGroups.count }

    /// The rows of one row group, each a `.record` of the top-level columns.
    public func rows(inRowGroup index: Int) throws(FileIOError) -> [ParquetValue] {
        guard metadata.metadata.rowGroups.indices.contains(index) else {
            throw FileIOError(path: path, reason: "row group \(index) of \(rowGroupCount)")
        }
        let group = metadata.metadata.rowGroups[index]
        let leaves = Self.leaves(metadata.root)
        var columns: [ColumnData] = []
        for (leaf, chunk) in zip(leaves, group.columns) {
            let name = chunk.path.joined(separator: ".")
            do throws(ParquetFormatError) {
                let start = Int(clamping: chunk.start), size = Int(clamping: chunk.compressedSize)
                guard start >= 4, size >= 0, start <= metadata.bytes.count - 8 - size else {
                    throw ParquetFormatError("its bytes \(start)+\(size) lie outside the file")
                }
                var reader = ColumnChunkReader(leaf: leaf, chunk: chunk)
                columns.append(try reader.read(Array(metadata.bytes[start..<start + size])))
            } catch {
                throw FileIOError(path: path, reason: "row group \(index), column \(name): \(error.reason)")
            }
        }
        do throws(ParquetFormatError) {
            let count = try ByteCursor.checkedCount(group.rowCount, limit: 1 << 31, "the row group's row count")
            return try RecordAssembly(root: metadata.root).rows(columns, rowCount: count)
        } catch {
            throw FileIOError(path: path, reason: "row group \(index): \(error.reason)")
        }
    }

    /// `PAR1` … metadata, its 4-byte length, `PAR1`.
    private static func footer(_ bytes: [UInt8]) throws(ParquetFormatError) -> ThriftStruct {
        let magic = Array("PAR1".utf8)
        guard bytes.count >= 12, Array(bytes[0..<4]) == magic, Array(bytes[(bytes.count - 4)...]) == magic else {
            throw ParquetFormatError("not a Parquet file (no PAR1 at its start and end)")
        }
        var tail = ByteCursor(bytes, from: bytes.count - 8)
        let length = Int(try tail.littleEndian(4))
        guard length <= bytes.count - 12 else { throw ParquetFormatError("the footer's length \(length) exceeds the file") }
        var reader = ThriftCompactReader(ByteCursor(bytes, from: bytes.count - 8 - length, to: bytes.count - 8))
        return try reader.readStruct()
    }

    private static func leaves(_ node: SchemaNode) -> [SchemaNode] {
        node.isLeaf ? [node] : node.children.flatMap(leaves)
    }
}

/// The parsed footer and the file's bytes, shared by copies of a `ParquetFile` (immutable).
private final class FileMetadataBox: Sendable {
    let metadata: FileMetadata
    let root: SchemaNode
    let bytes: [UInt8]
    init(metadata: FileMetadata, root: SchemaNode, bytes: [UInt8]) {
        self.metadata = metadata
        self.root = root
        self.bytes = bytes
    }
}

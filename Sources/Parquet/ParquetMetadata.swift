/// The parts of Parquet's footer (`FileMetaData`, parquet.thrift) and page headers that a
/// reader of flat and nested columns needs; field ids as in parquet.thrift.

/// Physical types (`Type`).
enum PhysicalType: Int64 {
    case boolean = 0, int32, int64, int96, float, double, byteArray, fixedLenByteArray
}

enum Repetition: Int64 {
    case required = 0, optional, repeated
}

/// One node of the flattened schema (`SchemaElement`): groups have children, leaves a type.
struct SchemaElement {
    let name: String
    let type: PhysicalType?
    let typeLength: Int
    let repetition: Repetition
    let childCount: Int
    /// `ConvertedType`: 0 UTF8, 1 MAP, 2 MAP_KEY_VALUE, 3 LIST, 16 JSON, …
    let convertedType: Int64?
    /// Field ids set in `LogicalType` (a union): 1 STRING, 3 MAP, 4 LIST, 12 JSON, …
    let logicalType: Int16?

    init(_ s: ThriftStruct) throws(ParquetFormatError) {
        guard let name = s[4]?.string else { throw ParquetFormatError("a schema element has no name") }
        self.name = name
        if let code = s[1]?.int {
            guard let type = PhysicalType(rawValue: code) else { throw ParquetFormatError("column \(name): unknown physical type \(code)") }
            self.type = type
        } else {
            type = nil
        }
        typeLength = Int(clamping: s[2]?.int ?? 0)
        repetition = Repetition(rawValue: s[3]?.int ?? 0) ?? .required
        childCount = try ByteCursor.checkedCount(s[5]?.int ?? 0, limit: 100_000, "the child count of \(name)")
        convertedType = s[6]?.int
        logicalType = s[10]?.structure?.fields.keys.first
    }

    var isString: Bool { convertedType == 0 || convertedType == 16 || logicalType == 1 || logicalType == 12 }
    var isList: Bool { convertedType == 3 || logicalType == 4 }
}

/// `ColumnMetaData` of one column chunk.
struct ColumnChunkMetadata {
    let path: [String]
    let codec: Int64
    let valueCount: Int64
    let compressedSize: Int64
    let dataPageOffset: Int64
    let dictionaryPageOffset: Int64?

    init(_ chunk: ThriftStruct) throws(ParquetFormatError) {
        guard let m = chunk[3]?.structure else {
            throw ParquetFormatError("a column chunk has no metadata (columns in other files are not supported)")
        }
        path = m[3]?.list?.compactMap(\.string) ?? []
        codec = try m.int(4, "codec")
        valueCount = try m.int(5, "num_values")
        compressedSize = try m.int(7, "total_compressed_size")
        dataPageOffset = try m.int(9, "data_page_offset")
        dictionaryPageOffset = m[11]?.int
    }

    /// Where the chunk's pages start: the dictionary page when there is one.
    var start: Int64 {
        if let dictionaryPageOffset, dictionaryPageOffset > 0, dictionaryPageOffset < dataPageOffset { return dictionaryPageOffset }
        return dataPageOffset
    }
}

struct RowGroupMetadata {
    let columns: [ColumnChunkMetadata]
    let rowCount: Int64
}

struct FileMetadata {
    let schema: [SchemaElement]
    let rowCount: Int64
    let rowGroups: [RowGroupMetadata]

    init(_ s: ThriftStruct) throws(ParquetFormatError) {
        schema = try s.structs(2).map { (e) throws(ParquetFormatError) in try SchemaElement(e) }
        rowCount = try s.int(3, "num_rows")
        rowGroups = try s.structs(4).map { (g) throws(ParquetFormatError) in
            RowGroupMetadata(
                columns: try g.structs(1).map { (c) throws(ParquetFormatError) in try ColumnChunkMetadata(c) },
                rowCount: try g.int(3, "a row group's num_rows"))
        }
    }
}

/// `PageHeader` with the parts of its data, dictionary and data-v2 headers used here.
struct PageHeader {
    enum Kind { case data, dictionary, dataV2, other }
    let kind: Kind
    let uncompressedSize: Int
    let compressedSize: Int
    let valueCount: Int
    let encoding: Int64
    /// Data page v2: level lengths (stored uncompressed before the values) and whether the
    /// values are compressed.
    let definitionBytes: Int
    let repetitionBytes: Int
    let valuesCompressed: Bool

    init(_ s: ThriftStruct) throws(ParquetFormatError) {
        let limit = 1 << 31
        uncompressedSize = try ByteCursor.checkedCount(try s.int(2, "uncompressed_page_size"), limit: limit, "a page's uncompressed size")
        compressedSize = try ByteCursor.checkedCount(try s.int(3, "compressed_page_size"), limit: limit, "a page's compressed size")
        let header: ThriftStruct?
        switch try s.int(1, "page type") {
        case 0: (kind, header) = (.data, s[5]?.structure)
        case 2: (kind, header) = (.dictionary, s[7]?.structure)
        case 3: (kind, header) = (.dataV2, s[8]?.structure)
        default: (kind, header) = (.other, nil)
        }
        guard kind == .other || header != nil else { throw ParquetFormatError("a page header lacks its \(kind) header") }
        valueCount = try ByteCursor.checkedCount(header?[1]?.int ?? 0, limit: limit, "a page's value count")
        encoding = (kind == .dataV2 ? header?[4]?.int : header?[2]?.int) ?? 0
        definitionBytes = kind == .dataV2 ? try ByteCursor.checkedCount(header?[5]?.int ?? 0, limit: limit, "definition levels' length") : 0
        repetitionBytes = kind == .dataV2 ? try ByteCursor.checkedCount(header?[6]?.int ?? 0, limit: limit, "repetition levels' length") : 0
        valuesCompressed = kind == .dataV2 ? (header?[7]?.bool ?? true) : true
    }
}

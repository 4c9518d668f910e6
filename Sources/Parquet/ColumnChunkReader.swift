/// One leaf column of one row group, decoded: its repetition and definition levels (one per
/// entry: a value, a null, or an empty list) and its non-null values in order.
struct ColumnData {
    var repetition: [UInt32] = []
    var definition: [UInt32] = []
    var values: [ParquetValue] = []
}

/// Reads a column chunk's pages: the dictionary page if any, then data pages (v1 and v2) with
/// PLAIN or dictionary-encoded values, uncompressed or Snappy-compressed.
struct ColumnChunkReader {
    let leaf: SchemaNode
    let chunk: ColumnChunkMetadata
    private var dictionary: [ParquetValue] = []

    init(leaf: SchemaNode, chunk: ColumnChunkMetadata) {
        self.leaf = leaf
        self.chunk = chunk
    }

    /// Bounds on what a (possibly hostile) header may make the reader allocate: a page's
    /// values (writers put a few thousand in a page) and a chunk's entries.
    static let maxPageValues = 1 << 24
    static let maxChunkValues: Int64 = 1 << 26

    mutating func read(_ bytes: [UInt8]) throws(ParquetFormatError) -> ColumnData {
        guard chunk.valueCount >= 0, chunk.valueCount <= Self.maxChunkValues else {
            throw ParquetFormatError("\(chunk.valueCount) values in one column chunk: more than this reader holds (\(Self.maxChunkValues))")
        }
        var cursor = ByteCursor(bytes)
        var data = ColumnData()
        var entries: Int64 = 0
        while entries < chunk.valueCount {
            guard !cursor.isAtEnd else { throw ParquetFormatError("the chunk ends after \(entries) of \(chunk.valueCount) values") }
            var thrift = ThriftCompactReader(cursor)
            let header = try PageHeader(try thrift.readStruct())
            cursor = thrift.cursor
            let body = try cursor.take(header.compressedSize)
            switch header.kind {
            case .dictionary:
                var values = ByteCursor(try decompress(body, size: header.uncompressedSize))
                dictionary = try PlainDecoder.decode(&values, leaf.element, count: header.valueCount)
            case .data, .dataV2:
                guard Int64(header.valueCount) <= chunk.valueCount - entries, header.valueCount <= Self.maxPageValues else {
                    throw ParquetFormatError("a page of \(header.valueCount) values where the chunk has \(chunk.valueCount - entries) left")
                }
                try readDataPage(header, body, into: &data)
                entries += Int64(header.valueCount)
            case .other: continue
            }
        }
        return data
    }

    private func decompress(_ body: [UInt8], size: Int) throws(ParquetFormatError) -> [UInt8] {
        switch chunk.codec {
        case 0:
            guard body.count == size else { throw ParquetFormatError("an uncompressed page of \(body.count) bytes says \(size)") }
            return body
        case 1: return try Snappy.decompress(body, expectedSize: size)
        default:
            let names: [Int64: String] = [2: "GZIP", 3: "LZO", 4: "BROTLI", 5: "LZ4", 6: "ZSTD", 7: "LZ4_RAW"]
            throw ParquetFormatError(
                "compression \(names[chunk.codec] ?? "code \(chunk.codec)") is not supported (uncompressed and SNAPPY are)")
        }
    }

    /// Levels, then values: v1 pages compress both together, each level run prefixed by its
    /// length; v2 pages keep the levels uncompressed in front, lengths in the header.
    private func readDataPage(_ header: PageHeader, _ body: [UInt8], into data: inout ColumnData) throws(ParquetFormatError) {
        let count = header.valueCount
        let repWidth = HybridDecoder.bitWidth(for: leaf.repetition)
        let defWidth = HybridDecoder.bitWidth(for: leaf.definition)
        var repetition: [UInt32], definition: [UInt32]
        var values: ByteCursor
        if header.kind == .dataV2 {
            let levels = header.repetitionBytes + header.definitionBytes
            guard levels <= body.count else { throw ParquetFormatError("a v2 page's levels are longer than the page") }
            var rep = ByteCursor(body, from: 0, to: header.repetitionBytes)
            var def = ByteCursor(body, from: header.repetitionBytes, to: levels)
            repetition = leaf.repetition > 0 ? try HybridDecoder.decode(&rep, bitWidth: repWidth, count: count) : []
            definition = leaf.definition > 0 ? try HybridDecoder.decode(&def, bitWidth: defWidth, count: count) : []
            let rest = Array(body[levels...])
            let size = header.uncompressedSize - levels
            values = ByteCursor(header.valuesCompressed ? try decompress(rest, size: size) : rest)
        } else {
            var page = ByteCursor(try decompress(body, size: header.uncompressedSize))
            repetition = leaf.repetition > 0 ? try Self.prefixedLevels(&page, bitWidth: repWidth, count: count) : []
            definition = leaf.definition > 0 ? try Self.prefixedLevels(&page, bitWidth: defWidth, count: count) : []
            values = page
        }
        let present = leaf.definition > 0 ? definition.reduce(0) { $0 + ($1 == UInt32(leaf.definition) ? 1 : 0) } : count
        data.values += try decodeValues(&values, encoding: header.encoding, count: present)
        data.repetition += leaf.repetition > 0 ? repetition : [UInt32](repeating: 0, count: count)
        data.definition += leaf.definition > 0 ? definition : [UInt32](repeating: 0, count: count)
    }

    private static func prefixedLevels(_ page: inout ByteCursor, bitWidth: Int, count: Int) throws(ParquetFormatError) -> [UInt32] {
        let length = Int(try page.littleEndian(4))
        guard length <= page.remaining else { throw ParquetFormatError("levels of \(length) bytes run past the page") }
        var levels = ByteCursor(page.bytes, from: page.offset, to: page.offset + length)
        try page.skip(length)
        return try HybridDecoder.decode(&levels, bitWidth: bitWidth, count: count)
    }

    private func decodeValues(_ cursor: inout ByteCursor, encoding: Int64, count: Int) throws(ParquetFormatError) -> [ParquetValue] {
        switch encoding {
        case 0: return try PlainDecoder.decode(&cursor, leaf.element, count: count)
        case 2, 8:
            guard count > 0 else { return [] }
            let width = Int(try cursor.byte())
            let indices = try HybridDecoder.decode(&cursor, bitWidth: width, count: count)
            return try indices.map { (i) throws(ParquetFormatError) in
                guard Int(i) < dictionary.count else { throw ParquetFormatError("dictionary index \(i) of \(dictionary.count) entries") }
                return dictionary[Int(i)]
            }
        default:
            throw ParquetFormatError("value encoding \(encoding) is not supported (PLAIN and dictionary encodings are)")
        }
    }
}

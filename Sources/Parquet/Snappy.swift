/// Snappy decompression (the raw block format, as Parquet stores pages): a varint length,
/// then literals and back-references. Every length and offset is checked, so a damaged page
/// is an error, never a read outside the buffers.
enum Snappy {
    static func decompress(_ input: [UInt8], expectedSize: Int) throws(ParquetFormatError) -> [UInt8] {
        var cursor = ByteCursor(input)
        let size = try ByteCursor.checkedCount(Int64(clamping: try cursor.varint()), limit: 1 << 31, "snappy's stated length")
        guard size == expectedSize else {
            throw ParquetFormatError("snappy says \(size) bytes where the page header says \(expectedSize)")
        }
        // A 3-byte copy writes at most 64 bytes: a larger claim is damage (and must not
        // reserve gigabytes).
        guard size <= input.count * 22 + 64 else { throw ParquetFormatError("snappy claims \(size) bytes from \(input.count)") }
        var output: [UInt8] = []
        output.reserveCapacity(size)
        while !cursor.isAtEnd {
            let tag = try cursor.byte()
            switch tag & 3 {
            case 0:
                var length = Int(tag >> 2) + 1
                if length > 60 { length = Int(try cursor.littleEndian(length - 60)) + 1 }
                guard output.count + length <= size else { throw ParquetFormatError("snappy literal runs past the stated length") }
                output.append(contentsOf: try cursor.take(length))
            case 1:
                let length = 4 + Int((tag >> 2) & 7)
                let offset = Int(tag >> 5) << 8 | Int(try cursor.byte())
                try copy(&output, offset: offset, length: length, size: size)
            case 2:
                try copy(&output, offset: Int(try cursor.littleEndian(2)), length: Int(tag >> 2) + 1, size: size)
            default:
                try copy(&output, offset: Int(try cursor.littleEndian(4)), length: Int(tag >> 2) + 1, size: size)
            }
        }
        guard output.count == size else { throw ParquetFormatError("snappy gave \(output.count) bytes, \(size) stated") }
        return output
    }

    /// A back-reference; it may overlap what it writes (a run), so bytes are copied one by one.
    private static func copy(_ output: inout [UInt8], offset: Int, length: Int, size: Int) throws(ParquetFormatError) {
        guard offset > 0, offset <= output.count else {
            throw ParquetFormatError("snappy refers \(offset) bytes back from \(output.count)")
        }
        guard output.count + length <= size else { throw ParquetFormatError("snappy copy runs past the stated length") }
        let start = output.count - offset
        for k in 0..<length { output.append(output[start + k]) }
    }
}

/// Parquet's RLE / bit-packed hybrid encoding of small integers (repetition and definition
/// levels, dictionary indices): runs of one repeated value, or groups of 8 values packed
/// `bitWidth` bits each, least significant bit first.
enum HybridDecoder {
    /// Reads exactly `count` values of `bitWidth` (0…32) bits from the cursor's bytes.
    static func decode(_ cursor: inout ByteCursor, bitWidth: Int, count: Int) throws(ParquetFormatError) -> [UInt32] {
        guard (0...32).contains(bitWidth) else { throw ParquetFormatError("bit width \(bitWidth) is not 0…32") }
        var values: [UInt32] = []
        values.reserveCapacity(min(count, 1 << 20))
        if bitWidth == 0 { return [UInt32](repeating: 0, count: count) }
        let byteWidth = (bitWidth + 7) / 8
        while values.count < count {
            let header = try cursor.varint()
            if header & 1 == 0 {
                let run = try ByteCursor.checkedCount(Int64(clamping: header >> 1), limit: 1 << 31, "an RLE run length")
                let value = UInt32(truncatingIfNeeded: try cursor.littleEndian(byteWidth))
                guard run > 0 else { throw ParquetFormatError("an RLE run of length 0") }
                values.append(contentsOf: repeatElement(value, count: min(run, count - values.count)))
            } else {
                let groups = try ByteCursor.checkedCount(Int64(clamping: header >> 1), limit: 1 << 27, "a bit-packed group count")
                let packed = try cursor.take(min(groups * bitWidth, cursor.remaining + 1))
                try unpack(packed, bitWidth: bitWidth, values: groups * 8, into: &values, limit: count)
            }
        }
        return values
    }

    private static func unpack(_ bytes: [UInt8], bitWidth: Int, values n: Int, into values: inout [UInt32], limit: Int)
        throws(ParquetFormatError)
    {
        guard bytes.count * 8 >= n * bitWidth else { throw ParquetFormatError("bit-packed values run past the page") }
        let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
        for k in 0..<n where values.count < limit {
            let bit = k * bitWidth
            var word: UInt64 = 0
            for b in 0..<min(5, bytes.count - bit / 8) { word |= UInt64(bytes[bit / 8 + b]) << (8 * UInt64(b)) }
            values.append(UInt32((word >> UInt64(bit % 8)) & mask))
        }
    }

    /// Bits needed for values up to `max`.
    static func bitWidth(for max: Int) -> Int { max == 0 ? 0 : Int.bitWidth - max.leadingZeroBitCount }
}

/// Bounds-checked little-endian reads over a byte array: every read of a hostile file ends in
/// a `ParquetFormatError`, never a trap.
struct ByteCursor {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        offset = start
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset >= end }

    mutating func byte() throws(ParquetFormatError) -> UInt8 {
        guard offset < end else { throw ParquetFormatError("ends early at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// `count` bytes as a new array.
    mutating func take(_ count: Int) throws(ParquetFormatError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw ParquetFormatError("asks for \(count) bytes at byte \(offset) where \(max(0, remaining)) remain")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func skip(_ count: Int) throws(ParquetFormatError) {
        guard count >= 0, count <= remaining else { throw ParquetFormatError("skips \(count) bytes at byte \(offset) past the end") }
        offset += count
    }

    /// An unsigned little-endian integer of `width` bytes (1…8).
    mutating func littleEndian(_ width: Int) throws(ParquetFormatError) -> UInt64 {
        guard width <= remaining else { throw ParquetFormatError("ends early at byte \(offset)") }
        var value: UInt64 = 0
        for k in 0..<width { value |= UInt64(bytes[offset + k]) << (8 * UInt64(k)) }
        offset += width
        return value
    }

    /// ULEB128, at most 10 bytes.
    mutating func varint() throws(ParquetFormatError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 70, by: 7) {
            let b = try byte()
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
        }
        throw ParquetFormatError("a variable-length integer at byte \(offset) runs past 10 bytes")
    }

    /// Zigzag-decoded varint (Thrift's compact integers).
    mutating func zigzag() throws(ParquetFormatError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A count or length read from the file, checked to be in 0...limit.
    static func checkedCount(_ value: Int64, limit: Int, _ what: String) throws(ParquetFormatError) -> Int {
        guard value >= 0, value <= Int64(limit) else { throw ParquetFormatError("\(what) \(value) is out of range (0…\(limit))") }
        return Int(value)
    }
}

/// Protocol Buffers' wire format, read field by field (enough for SentencePiece's `.model`
/// files; no schema compiler). A message is a run of (tag, value) pairs: the tag is a varint
/// `field << 3 | wireType`; values are varints (0), 8-byte (1), length-prefixed bytes (2:
/// strings, bytes, nested messages) or 4-byte (5) little-endian words. Unknown fields are
/// skipped by their wire type, as protobuf readers do. Every read is bounds-checked: a
/// truncated or corrupt file is an error naming the byte offset, never a crash.
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)

        var float: Float? { if case .fixed32(let bits) = self { Float(bitPattern: bits) } else { nil } }
        var integer: UInt64? { if case .varint(let v) = self { v } else { nil } }
        var slice: ArraySlice<UInt8>? { if case .bytes(let b) = self { b } else { nil } }
        var string: String? { slice.map { String(decoding: $0, as: UTF8.self) } }
    }

    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    /// The next (field number, value), or nil at the end of the message.
    mutating func next() throws(Failure) -> (field: Int, value: Value)? {
        guard position < bytes.endIndex else { return nil }
        let start = position
        let tag = try varint()
        let field = Int(truncatingIfNeeded: tag >> 3)
        guard field > 0 else { throw Failure(offset: start, reason: "field number 0") }
        switch tag & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try little(8)))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - position) else {
                throw Failure(offset: position, reason: "a \(length)-byte field runs past the end")
            }
            let slice = bytes[position..<position + Int(length)]
            position += Int(length)
            return (field, .bytes(slice))
        case 5: return (field, .fixed32(UInt32(truncatingIfNeeded: try little(4))))
        case let other: throw Failure(offset: start, reason: "wire type \(other) is not one protobuf writes today")
        }
    }

    private mutating func varint() throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard position < bytes.endIndex else { throw Failure(offset: position, reason: "a number runs past the end") }
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        throw Failure(offset: position, reason: "a number longer than 10 bytes")
    }

    private mutating func little(_ count: Int) throws(Failure) -> UInt64 {
        guard bytes.endIndex - position >= count else { throw Failure(offset: position, reason: "a \(count)-byte word runs past the end") }
        var value: UInt64 = 0
        for k in 0..<count { value |= UInt64(bytes[position + k]) << UInt64(8 * k) }
        position += count
        return value
    }
}

import FileIO

#if canImport(Glibc)
    import Glibc
#endif

/// Scalars in TensorBoard's event-file format, so `tensorboard --logdir runs` plots them.
///
/// The file is a TFRecord stream (u64 length, masked CRC-32C of the length, the bytes,
/// masked CRC-32C of the bytes) of `Event` protocol buffers: the first carries
/// `file_version = "brain.Event:2"`, each later one a wall time, a step and a summary of
/// (tag, simple_value) pairs. Hand-encoded (five fields), no protobuf library needed.
public final class TensorBoardWriter: @unchecked Sendable {
    private let fd: Int32
    public let path: String

    public init(folder: String) throws(FileIOError) {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let hostname = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        path = "\(folder)/events.out.tfevents.\(time(nil)).\(hostname)"
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw FileIOError(path: path, reason: "cannot create (\(FileIOError.systemReason))") }
        var event: [UInt8] = []
        Self.double(1, now(), into: &event)
        Self.bytes(3, Array("brain.Event:2".utf8), into: &event)
        writeRecord(event)
    }

    deinit { close(fd) }

    /// One event holding every scalar of a step.
    public func write(step: Int, scalars: [(String, Double)]) {
        var summary: [UInt8] = []
        for (tag, value) in scalars where value.isFinite {
            var entry: [UInt8] = []
            Self.bytes(1, Array(tag.utf8), into: &entry)
            Self.float(2, Float(value), into: &entry)
            Self.bytes(1, entry, into: &summary)
        }
        var event: [UInt8] = []
        Self.double(1, now(), into: &event)
        Self.varintField(2, UInt64(max(0, step)), into: &event)
        Self.bytes(5, summary, into: &event)
        writeRecord(event)
    }

    private func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private func writeRecord(_ data: [UInt8]) {
        var record: [UInt8] = []
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Array($0) }
        record += lengthBytes
        Self.append32(Self.maskedCRC(lengthBytes), to: &record)
        record += data
        Self.append32(Self.maskedCRC(data), to: &record)
        _ = record.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    // MARK: protobuf wire format

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
    static func varintField(_ field: UInt64, _ value: UInt64, into out: inout [UInt8]) {
        varint(field << 3 | 0, into: &out)
        varint(value, into: &out)
    }
    static func double(_ field: UInt64, _ value: Double, into out: inout [UInt8]) {
        varint(field << 3 | 1, into: &out)
        var bits = value.bitPattern.littleEndian
        out += withUnsafeBytes(of: &bits) { Array($0) }
    }
    static func float(_ field: UInt64, _ value: Float, into out: inout [UInt8]) {
        varint(field << 3 | 5, into: &out)
        var bits = value.bitPattern.littleEndian
        out += withUnsafeBytes(of: &bits) { Array($0) }
    }
    static func bytes(_ field: UInt64, _ value: [UInt8], into out: inout [UInt8]) {
        varint(field << 3 | 2, into: &out)
        varint(UInt64(value.count), into: &out)
        out += value
    }
    static func append32(_ value: UInt32, to out: inout [UInt8]) {
        var v = value.littleEndian
        out += withUnsafeBytes(of: &v) { Array($0) }
    }

    // MARK: CRC-32C (Castagnoli), masked as TFRecord does

    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func crc32c(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func maskedCRC(_ data: [UInt8]) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

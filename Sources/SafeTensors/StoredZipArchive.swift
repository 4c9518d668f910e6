/// The entries of a ZIP archive whose members are stored, not compressed — what `torch.save`
/// writes (`pytorch_model.bin` since PyTorch 1.6: `archive/data.pkl`, `archive/data/0`, …, each
/// stored and aligned) — read from the central directory, ZIP64 included (checkpoints past
/// 4 GB). Every offset is checked against the file; a compressed or encrypted member is an
/// error naming it, never a wrong read.
struct StoredZipArchive {
    /// Member name → its bytes' range in the file.
    let members: [String: Range<Int>]

    init(_ bytes: UnsafeRawBufferPointer, path: String) throws(SafeTensorsError) {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        let reader = LittleEndianReader(bytes)
        var (directoryOffset, count) = try Self.directory(reader, fail: fail)
        var members: [String: Range<Int>] = [:]
        while count > 0 {
            count -= 1
            guard reader.u32(directoryOffset) == 0x0201_4b50 else {
                throw fail("zip central directory entry damaged at byte \(directoryOffset)")
            }
            let (flags, method) = (reader.u16(directoryOffset + 8) ?? 0, reader.u16(directoryOffset + 10) ?? 0)
            var size = Int(reader.u32(directoryOffset + 24) ?? 0)
            var local = Int(reader.u32(directoryOffset + 42) ?? 0)
            let (nameLength, extraLength) = (Int(reader.u16(directoryOffset + 28) ?? 0), Int(reader.u16(directoryOffset + 30) ?? 0))
            let commentLength = Int(reader.u16(directoryOffset + 32) ?? 0)
            guard let name = reader.text(directoryOffset + 46, count: nameLength) else { throw fail("zip entry name out of the file") }
            Self.zip64(
                reader, extra: directoryOffset + 46 + nameLength, length: extraLength, compressed: reader.u32(directoryOffset + 20) ?? 0,
                size: &size, offset: &local)
            guard method == 0, flags & 1 == 0 else {
                throw fail("\(name) is compressed or encrypted in the zip (torch.save stores members)")
            }
            guard reader.u32(local) == 0x0403_4b50, let localName = reader.u16(local + 26), let localExtra = reader.u16(local + 28) else {
                throw fail("\(name): local zip header damaged")
            }
            let start = local + 30 + Int(localName) + Int(localExtra)
            guard start <= bytes.count, size <= bytes.count - start else { throw fail("\(name) runs past the end of the file") }
            members[name] = start..<(start + size)
            directoryOffset += 46 + nameLength + extraLength + commentLength
        }
        self.members = members
    }

    /// The central directory's offset and entry count, from the end-of-directory record
    /// (searched backwards over a comment) or its ZIP64 form.
    private static func directory(_ r: LittleEndianReader, fail: (String) -> SafeTensorsError) throws(SafeTensorsError) -> (Int, Int) {
        var end = r.count - 22
        while end >= max(0, r.count - 22 - 65_535), r.u32(end) != 0x0605_4b50 { end -= 1 }
        guard end >= 0, r.u32(end) == 0x0605_4b50 else { throw fail("not a zip archive (no end-of-directory record)") }
        var offset = Int(r.u32(end + 16) ?? 0)
        var count = Int(r.u16(end + 10) ?? 0)
        if offset == 0xFFFF_FFFF || count == 0xFFFF, r.u32(end - 20) == 0x0706_4b50, let at = r.u64(end - 12),
            r.u32(Int(clamping: at)) == 0x0606_4b50
        {
            count = Int(clamping: r.u64(Int(clamping: at) + 32) ?? 0)
            offset = Int(clamping: r.u64(Int(clamping: at) + 48) ?? 0)
        }
        guard offset < r.count, count < r.count / 46 + 1 else { throw fail("zip central directory out of the file") }
        return (offset, count)
    }

    /// A ZIP64 extra field (id 1) holds, in this order, the 64-bit forms of those of the
    /// uncompressed size, compressed size and local-header offset whose 32-bit fields read
    /// 0xFFFFFFFF (stored members: both sizes equal).
    private static func zip64(_ r: LittleEndianReader, extra: Int, length: Int, compressed: UInt32, size: inout Int, offset: inout Int) {
        var at = extra
        while at + 4 <= extra + length, let id = r.u16(at), let fieldLength = r.u16(at + 2) {
            if id == 1 {
                var field = at + 4
                if size == 0xFFFF_FFFF, let wide = r.u64(field) {
                    size = Int(clamping: wide)
                    field += 8
                }
                if compressed == 0xFFFF_FFFF { field += 8 }
                if offset == 0xFFFF_FFFF, let wide = r.u64(field) { offset = Int(clamping: wide) }
                return
            }
            at += 4 + Int(fieldLength)
        }
    }
}

/// Bounds-checked little-endian reads from a byte buffer (nil past the end).
struct LittleEndianReader {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    var count: Int { bytes.count }

    func u16(_ at: Int) -> UInt16? { value(at, UInt16.self) }
    func u32(_ at: Int) -> UInt32? { value(at, UInt32.self) }
    func u64(_ at: Int) -> UInt64? { value(at, UInt64.self) }

    private func value<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T? {
        guard at >= 0, at <= bytes.count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    func text(_ at: Int, count: Int) -> String? {
        guard at >= 0, count >= 0, at <= bytes.count - count else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + count)]), as: UTF8.self)
    }
}

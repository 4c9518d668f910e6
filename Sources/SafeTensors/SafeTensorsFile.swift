import FileIO
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One tensor's entry in a safetensors header.
public struct SafeTensorEntry: Sendable, Equatable {
    public let name: String
    /// The header's dtype name ("F32", "BF16", "I64", …).
    public let dtype: String
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let dataOffsets: Range<Int>
}

/// Why a safetensors file could not be read or written; names the file and what is wrong.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public init(_ error: FileIOError) {
        self.init(path: error.path, reason: error.reason)
    }
}

/// Bytes per element of the safetensors dtypes.
public func safetensorsElementSize(_ dtype: String) -> Int? {
    switch dtype {
    case "BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2": 1
    case "F16", "BF16", "I16", "U16": 2
    case "F32", "I32", "U32": 4
    case "F64", "I64", "U64": 8
    default: nil
    }
}

/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header,
/// then the tensors' bytes. Every offset and size is checked against the file before use.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let entries: [SafeTensorEntry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int
    private let positions: [String: Int]

    /// Largest header accepted (the format's reference reader uses 100 MB).
    static let maxHeaderSize = 100_000_000

    public init(path: String) throws(SafeTensorsError) {
        self.path = path
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        do { file = try MappedFile(path: path) } catch { throw SafeTensorsError(error) }
        guard file.bytes.count >= 8 else { throw fail("file is \(file.bytes.count) bytes, shorter than the 8-byte header length") }
        let parsed = try SafeTensorsFile.parseHeader(file.bytes, fail: fail)
        self.entries = parsed.entries
        self.metadata = parsed.metadata
        self.dataStart = parsed.dataStart
        var positions: [String: Int] = [:]
        for (i, entry) in parsed.entries.enumerated() { positions[entry.name] = i }
        self.positions = positions
    }

    public func entry(_ name: String) -> SafeTensorEntry? { positions[name].map { entries[$0] } }

    /// The bytes of one tensor, valid while this file object lives.
    public func bytes(of entry: SafeTensorEntry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            rebasing: file.bytes[(dataStart + entry.dataOffsets.lowerBound)..<(dataStart + entry.dataOffsets.upperBound)])
    }

    static func parseHeader(_ bytes: UnsafeRawBufferPointer, fail: (String) -> SafeTensorsError) throws(SafeTensorsError)
        -> (entries: [SafeTensorEntry], metadata: [String: String], dataStart: Int)
    {
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(maxHeaderSize) else { throw fail("header length \(headerLength) exceeds the 100 MB limit") }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= bytes.count else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        } catch {
            throw fail("header: \(error)")
        }
        guard let members = header.objectValue else { throw fail("header is not a JSON object") }
        let dataSize = bytes.count - dataStart
        var entries: [SafeTensorEntry] = []
        var metadata: [String: String] = [:]
        var seen = Set<String>()
        for (name, value) in members {
            if name == "__metadata__" {
                guard let pairs = value.objectValue else { throw fail("__metadata__ is not an object") }
                for (key, item) in pairs {
                    guard let text = item.stringValue else { throw fail("__metadata__.\(key) is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard seen.insert(name).inserted else { throw fail("tensor '\(name)' appears twice") }
            guard let dtype = value["dtype"]?.stringValue else { throw fail("tensor '\(name)': missing or non-string dtype") }
            guard let elementSize = safetensorsElementSize(dtype) else { throw fail("tensor '\(name)': unknown dtype \(dtype)") }
            guard let shapeValues = value["shape"]?.arrayValue else { throw fail("tensor '\(name)': missing shape") }
            var shape: [Int] = []
            var count = 1
            for dimension in shapeValues {
                guard let size = dimension.intValue, size >= 0 else {
                    throw fail("tensor '\(name)': shape holds a non-integer or negative size")
                }
                let (product, overflow) = count.multipliedReportingOverflow(by: size)
                guard !overflow else { throw fail("tensor '\(name)': shape \(shapeValues.count)-D overflows") }
                count = product
                shape.append(size)
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                let begin = offsets[0].intValue, let end = offsets[1].intValue
            else { throw fail("tensor '\(name)': data_offsets must be two integers") }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] fall outside the \(dataSize)-byte data section")
            }
            let (expected, overflow) = count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, expected == end - begin else {
                throw fail("tensor '\(name)': \(end - begin) bytes for shape \(shape) of \(dtype)")
            }
            entries.append(SafeTensorEntry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end))
        }
        // As the safetensors library requires: the tensors tile the data section, no overlap, no hole.
        var covered = 0
        for entry in entries.sorted(by: {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }) {
            guard entry.dataOffsets.lowerBound >= covered else {
                throw fail(
                    "tensor '\(entry.name)': data_offsets [\(entry.dataOffsets.lowerBound), \(entry.dataOffsets.upperBound)] overlap another tensor's data"
                )
            }
            guard entry.dataOffsets.lowerBound == covered else {
                throw fail("bytes \(covered)..<\(entry.dataOffsets.lowerBound) of the data section belong to no tensor")
            }
            covered = entry.dataOffsets.upperBound
        }
        guard covered == dataSize else { throw fail("bytes \(covered)..<\(dataSize) of the data section belong to no tensor") }
        return (entries, metadata, dataStart)
    }
}

/// A tensor to be written: its header fields and a way to reach its bytes.
public struct SafeTensorsRecord {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    public let byteCount: Int
    /// Writes the tensor's bytes by calling the sink once or several times.
    public let produce: ((UnsafeRawBufferPointer) throws(SafeTensorsError) -> Void) throws(SafeTensorsError) -> Void

    public init(
        name: String, dtype: String, shape: [Int], byteCount: Int,
        produce: @escaping ((UnsafeRawBufferPointer) throws(SafeTensorsError) -> Void) throws(SafeTensorsError) -> Void
    ) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
        self.produce = produce
    }
}

public enum SafeTensorsWriter {
    /// Writes a safetensors file atomically: into a temporary file beside `path`, flushed to
    /// disk, then renamed over `path`. A crash leaves either the old file or the new one.
    /// Tensors are laid out in name order, as the reference writer does.
    public static func write(_ records: [SafeTensorsRecord], metadata: [String: String] = [:], to path: String)
        throws(SafeTensorsError)
    {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        let sorted = records.sorted { $0.name < $1.name }
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for record in sorted {
            guard let size = safetensorsElementSize(record.dtype) else {
                throw fail("tensor '\(record.name)': unknown dtype \(record.dtype)")
            }
            let count = record.shape.reduce(into: Optional(1)) { total, dimension in
                guard let t = total, dimension >= 0 else { total = nil; return }
                let (product, overflow) = t.multipliedReportingOverflow(by: dimension)
                total = overflow ? nil : product
            }
            guard let count, count.multipliedReportingOverflow(by: size) == (record.byteCount, false) else {
                throw fail("tensor '\(record.name)': \(record.byteCount) bytes for shape \(record.shape) of \(record.dtype)")
            }
            members.append(
                (
                    record.name,
                    .object([
                        ("dtype", .string(record.dtype)), ("shape", .array(record.shape.map { .int($0) })),
                        ("data_offsets", .array([.int(offset), .int(offset + record.byteCount)])),
                    ])
                ))
            offset += record.byteCount
        }
        var header = Array(JSONValue.object(members).serialized.utf8)
        // Pad with spaces so the data section starts 8-byte aligned.
        while header.count % 8 != 0 { header.append(0x20) }

        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(temporary) (\(String(cString: strerror(errno))))") }
        var closed = false
        defer {
            if !closed {
                close(fd)
                unlink(temporary)
            }
        }
        func put(_ chunk: UnsafeRawBufferPointer) throws(SafeTensorsError) {
            var done = 0
            while done < chunk.count {
                let n = Glibc.write(fd, chunk.baseAddress! + done, chunk.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail("write failed (\(String(cString: strerror(errno))))")
                }
                done += n
            }
        }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { raw in Result { () throws(SafeTensorsError) in try put(raw) } }.get()
        try header.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try put(raw) } }.get()
        for record in sorted {
            var written = 0
            try record.produce { (chunk) throws(SafeTensorsError) in
                written += chunk.count
                if chunk.count > 0 { try put(chunk) }
            }
            guard written == record.byteCount else {
                throw fail("tensor '\(record.name)' produced \(written) bytes, expected \(record.byteCount)")
            }
        }
        guard fsync(fd) == 0 else { throw fail("fsync failed (\(String(cString: strerror(errno))))") }
        closed = true
        guard close(fd) == 0 else {
            unlink(temporary)
            throw fail("close failed (\(String(cString: strerror(errno))))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw fail("cannot rename \(temporary) into place (\(String(cString: strerror(errno))))")
        }
    }
}

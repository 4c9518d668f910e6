import SafeTensors
import FileIO

/// A memory-mapped GGUF file (versions 2 and 3): header, typed metadata, tensor infos and
/// the data section. Every count, length and offset is checked against the file before it is
/// used, so truncated or corrupted files give an error naming what is wrong.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let file: MappedFile
    private let index: [String: Int]

    /// GGML supports at most four dimensions.
    static let maxDimensions = 4

    public init(path: String) throws(GGUFError) {
        self.path = path
        do {
            file = try MappedFile(path: path)
        } catch {
            throw GGUFError(path: path, reason: error.reason)
        }
        var reader = GGUFByteReader(bytes: file.bytes, path: path)
        guard try reader.u32("magic") == 0x4655_4747 else { throw reader.error("not a GGUF file (bad magic)") }
        version = try reader.u32("version")
        guard version == 2 || version == 3 else { throw reader.error("GGUF version \(version) is not supported (2 and 3 are)") }
        let tensorCount = try reader.count("tensor count", minimumItemSize: 24)
        let metadataCount = try reader.count("metadata count", minimumItemSize: 12)

        var metadata: [(key: String, value: GGUFValue)] = []
        metadata.reserveCapacity(metadataCount)
        for i in 0..<metadataCount {
            let key = try reader.string("key of metadata entry \(i)")
            let type = try reader.u32("type of \(key)")
            metadata.append((key, try reader.value(type: type, field: key, depth: 0)))
        }
        self.metadata = metadata

        var alignment = 32
        if let value = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0 else {
                throw reader.error("general.alignment must be a power of two, found \(value)")
            }
            alignment = a
        }
        self.alignment = alignment

        var raw: [(name: String, shape: [Int], type: GGMLType, offset: Int, size: Int)] = []
        raw.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try reader.string("name of tensor \(i)")
            let dimensions = Int(try reader.u32("dimension count of \(name)"))
            guard dimensions <= GGUFFile.maxDimensions else {
                throw reader.error("tensor \(name) has \(dimensions) dimensions (at most 4)")
            }
            var shape: [Int] = []
            var count = 1
            for d in 0..<dimensions {
                let size = try reader.u64("dimension \(d) of \(name)")
                guard size <= UInt64(Int.max), case let (product, overflow) = count.multipliedReportingOverflow(by: Int(size)), !overflow
                else {
                    throw reader.error("tensor \(name) has an impossible size")
                }
                count = product
                shape.append(Int(size))
            }
            let typeCode = try reader.u32("type of \(name)")
            guard let type = GGMLType(rawValue: typeCode) else { throw reader.error("tensor \(name) has unknown type \(typeCode)") }
            let offset = try reader.u64("offset of \(name)")
            let layout = type.blockLayout
            guard count % layout.values == 0 else {
                throw reader.error("tensor \(name) has \(count) values, not a multiple of the \(type) block size \(layout.values)")
            }
            let (size, overflow) = (count / layout.values).multipliedReportingOverflow(by: layout.bytes)
            guard !overflow, offset <= UInt64(Int.max) else { throw reader.error("tensor \(name) has an impossible size or offset") }
            raw.append((name, shape.reversed(), type, Int(offset), size))
        }

        let dataStart = (reader.position + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for t in raw {
            guard t.offset % alignment == 0 else {
                throw reader.error("tensor \(t.name) data offset \(t.offset) is not aligned to \(alignment)")
            }
            let (start, overflowStart) = dataStart.addingReportingOverflow(t.offset)
            let (end, overflowEnd) = start.addingReportingOverflow(t.size)
            guard !overflowStart, !overflowEnd, end <= file.bytes.count else {
                throw reader.error(
                    "tensor \(t.name) data (\(t.size) bytes at offset \(t.offset)) runs past the end of the \(file.bytes.count)-byte file")
            }
            guard index[t.name] == nil else { throw reader.error("tensor \(t.name) appears twice") }
            index[t.name] = tensors.count
            tensors.append(GGUFTensorInfo(name: t.name, shape: t.shape, type: t.type, byteRange: start..<end))
        }
        try GGUFFile.checkLayout(tensors, alignment: alignment, dataEnd: file.bytes.count, fail: reader.error)
        self.tensors = tensors
        self.index = index
    }

    /// Tensor data must not overlap, and each tensor's bytes must be what its type and shape
    /// need: the next tensor (or the end of the file) starts where this one ends, rounded up
    /// to the alignment, as llama.cpp and gguf-py write them. A type changed in the header
    /// would otherwise read another tensor's bytes or leave some unread.
    static func checkLayout(
        _ tensors: [GGUFTensorInfo], alignment: Int, dataEnd: Int, fail: (String) -> GGUFError
    ) throws(GGUFError) {
        let ordered = tensors.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (k, t) in ordered.enumerated() {
            let padded = (t.byteRange.upperBound + alignment - 1) / alignment * alignment
            let next = k + 1 < ordered.count ? ordered[k + 1].byteRange.lowerBound : nil
            if let next, next < t.byteRange.upperBound {
                throw fail("tensor \(t.name) (\(t.type), \(t.byteRange.count) bytes) overlaps the data of \(ordered[k + 1].name)")
            }
            if let next, next > padded {
                throw fail(
                    "tensor \(t.name): \(next - t.byteRange.lowerBound) bytes up to the next tensor, but its type \(t.type) and shape \(t.shape) need \(t.byteRange.count)"
                )
            }
            if next == nil && dataEnd > padded {
                throw fail(
                    "tensor \(t.name): \(dataEnd - t.byteRange.lowerBound) bytes up to the end of the file, but its type \(t.type) and shape \(t.shape) need \(t.byteRange.count)"
                )
            }
        }
    }

    public subscript(key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    public func tensor(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The raw (possibly quantized) bytes of a tensor, valid while this object lives.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.byteRange])
    }

    /// The tensor's values as f32, row-major in `tensor.shape`.
    public func dequantize(_ tensor: GGUFTensorInfo) throws(GGUFError) -> [Float] {
        guard tensor.type.canDequantize else {
            throw GGUFError(path: path, reason: "tensor \(tensor.name): dequantizing \(tensor.type) is not supported")
        }
        return GGUFDequantizer.dequantize(data(of: tensor), type: tensor.type, count: tensor.elementCount)
    }
}

/// Bounds-checked little-endian reads over the mapped file.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0
    static let maxDepth = 8

    func error(_ reason: String) -> GGUFError { GGUFError(path: path, reason: reason) }

    mutating func take(_ n: Int, _ field: String) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else {
            throw error("truncated: \(field) needs \(n) bytes at offset \(position), the file has \(bytes.count)")
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ field: String) throws(GGUFError) -> T {
        let raw = try take(MemoryLayout<T>.size, field)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    mutating func u32(_ field: String) throws(GGUFError) -> UInt32 { try integer(UInt32.self, field) }
    mutating func u64(_ field: String) throws(GGUFError) -> UInt64 { try integer(UInt64.self, field) }

    /// A u64 count whose items need at least `minimumItemSize` bytes each: larger counts
    /// than the rest of the file could hold are rejected before anything is allocated.
    mutating func count(_ field: String, minimumItemSize: Int) throws(GGUFError) -> Int {
        let n = try u64(field)
        let remaining = UInt64(bytes.count - position)
        guard n <= remaining / UInt64(max(minimumItemSize, 1)) else {
            throw error("\(field) \(n) is larger than the rest of the file could hold")
        }
        return Int(n)
    }

    mutating func string(_ field: String) throws(GGUFError) -> String {
        let length = try count("length of \(field)", minimumItemSize: 1)
        let raw = try take(length, field)
        guard let text = String(validating: raw, as: UTF8.self) else { throw error("\(field) is not valid UTF-8") }
        return text
    }

    mutating func value(type: UInt32, field: String, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try integer(UInt8.self, field)))
        case 1: return .int(Int64(try integer(Int8.self, field)))
        case 2: return .uint(UInt64(try integer(UInt16.self, field)))
        case 3: return .int(Int64(try integer(Int16.self, field)))
        case 4: return .uint(UInt64(try integer(UInt32.self, field)))
        case 5: return .int(Int64(try integer(Int32.self, field)))
        case 6: return .float(Double(Float(bitPattern: try integer(UInt32.self, field))))
        case 7:
            let b = try integer(UInt8.self, field)
            guard b <= 1 else { throw error("\(field): boolean byte \(b)") }
            return .bool(b == 1)
        case 8: return .string(try string(field))
        case 9:
            guard depth < GGUFByteReader.maxDepth else { throw error("\(field): arrays nested too deeply") }
            let elementType = try u32("element type of \(field)")
            let minimum: Int
            switch elementType {
            case 0, 1, 7: minimum = 1
            case 2, 3: minimum = 2
            case 4, 5, 6: minimum = 4
            case 8, 9, 10, 11, 12: minimum = 8
            default: throw error("\(field): unknown array element type \(elementType)")
            }
            let n = try count("length of \(field)", minimumItemSize: minimum)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(type: elementType, field: field, depth: depth + 1)) }
            return .array(items)
        case 10: return .uint(try integer(UInt64.self, field))
        case 11: return .int(try integer(Int64.self, field))
        case 12: return .float(Double(bitPattern: try integer(UInt64.self, field)))
        default: throw error("\(field): unknown value type \(type)")
        }
    }
}

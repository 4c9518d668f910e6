import FileIO

/// A `pytorch_model.bin` as `torch.save` writes it since PyTorch 1.6 — a stored ZIP archive of
/// `data.pkl` (the state dict's pickle) and one member per storage (`data/0`, …) — read like a
/// safetensors file: names, each tensor's dtype and shape, and its bytes, memory-mapped.
///
/// The pickle is interpreted, never run (`TensorPickle`): only dictionaries of tensors are
/// read, as `torch.load(weights_only=True)` reads them; a pickle naming any other global (code a
/// hostile file would run) is refused, naming the global. microsoft/deberta-v3-large ships its
/// weights this way, as do many older encoders.
public final class PyTorchCheckpoint: @unchecked Sendable {
    public let path: String
    public let names: [String]
    private let file: MappedFile
    private let tensors: [String: (entry: SafeTensorEntry, bytes: Range<Int>)]

    public init(path: String) throws(SafeTensorsError) {
        self.path = path
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        do { file = try MappedFile(path: path) } catch { throw fail(error.reason) }
        let bytes = file.bytes
        if bytes.count >= 2, bytes[0] == 0x80, bytes[1] <= 5 {
            throw fail(
                "saved by PyTorch before 1.6 (the legacy format, not a zip archive): re-save it with torch.save or convert it to safetensors"
            )
        }
        let archive = try StoredZipArchive(bytes, path: path)
        guard let program = archive.members.keys.filter({ $0.hasSuffix("data.pkl") }).min(by: { $0.count < $1.count }),
            let programBytes = archive.members[program]
        else { throw fail("no data.pkl in the archive: not a torch.save file") }
        let prefix = String(program.dropLast("data.pkl".count))
        let references: [String: TensorPickle.TensorReference]
        do { references = try TensorPickle.tensors(UnsafeRawBufferPointer(rebasing: bytes[programBytes])) } catch {
            throw fail("\(program): \(error.description)")
        }
        var tensors: [String: (entry: SafeTensorEntry, bytes: Range<Int>)] = [:]
        for (name, reference) in references {
            guard let storage = archive.members[prefix + "data/" + reference.storage.key] else {
                throw fail("\(name): storage \(reference.storage.key) is not in the archive")
            }
            tensors[name] = try Self.locate(name, reference, storage: storage, fail: fail)
        }
        self.tensors = tensors
        names = tensors.keys.sorted()
    }

    /// Where a tensor's bytes lie: it must be contiguous (row-major strides) and within its storage.
    private static func locate(
        _ name: String, _ t: TensorPickle.TensorReference, storage: Range<Int>, fail: (String) -> SafeTensorsError
    ) throws(SafeTensorsError) -> (entry: SafeTensorEntry, bytes: Range<Int>) {
        let size = TensorPickle.storageTypes.values.first { $0.dtype == t.storage.dtype }?.size ?? 1
        var expected = 1
        var count = 1
        for (extent, stride) in zip(t.shape, t.strides).reversed() {
            guard extent >= 0, stride >= 0 else { throw fail("\(name): negative shape or stride") }
            if extent > 1 && stride != expected { throw fail("\(name): strides \(t.strides) for shape \(t.shape) are not contiguous") }
            let (product, overflow) = expected.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw fail("\(name): shape \(t.shape) is too large") }
            (expected, count) = (product, product)
        }
        guard t.offset >= 0, t.storage.count >= 0, count <= t.storage.count - t.offset, t.storage.count * size == storage.count else {
            throw fail(
                "\(name): elements \(t.offset)..<\(t.offset + count) outside its storage of \(t.storage.count) (\(storage.count) bytes)")
        }
        let start = storage.lowerBound + t.offset * size
        return (
            SafeTensorEntry(name: name, dtype: t.storage.dtype, shape: t.shape, dataOffsets: 0..<(count * size)),
            start..<(start + count * size)
        )
    }

    public func entry(_ name: String) -> SafeTensorEntry? { tensors[name]?.entry }

    /// The tensor's bytes (row-major), valid while this checkpoint lives.
    public func bytes(of name: String) -> UnsafeRawBufferPointer? {
        guard let range = tensors[name]?.bytes else { return nil }
        return UnsafeRawBufferPointer(rebasing: file.bytes[range])
    }
}

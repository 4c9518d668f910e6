import FileIO
#if canImport(Glibc)
    import Glibc
#endif

/// One weights file of a model folder: a safetensors file, or a `torch.save` archive.
public protocol WeightFile: AnyObject, Sendable {
    var path: String { get }
    func entry(_ name: String) -> SafeTensorEntry?
    /// The tensor's bytes (row-major), valid while the file object lives.
    func bytes(of name: String) -> UnsafeRawBufferPointer?
    /// Every tensor name in the file.
    var tensorNames: [String] { get }
}

extension SafeTensorsFile: WeightFile {
    public func bytes(of name: String) -> UnsafeRawBufferPointer? { entry(name).map { bytes(of: $0) } }
    public var tensorNames: [String] { entries.map(\.name) }
}

extension PyTorchCheckpoint: WeightFile {
    public var tensorNames: [String] { names }
}

/// The weights of a Hugging Face model folder, in the order transformers looks for them:
/// `model.safetensors.index.json` (`{"weight_map": {tensor: shard file}}`), `model.safetensors`,
/// `pytorch_model.bin.index.json`, `pytorch_model.bin` (torch.save archives, read without running
/// their pickle: `PyTorchCheckpoint`). Every file is opened (memory-mapped) once; every tensor
/// an index names must be in the file it names.
public final class WeightFolder: @unchecked Sendable {
    public let folder: String
    public let shards: [any WeightFile]
    /// `safetensors` or `pytorch` (torch.save's pickle archives).
    public let format: String
    private let location: [String: (shard: Int, entry: SafeTensorEntry)]
    /// Tensor names in shard order, then file order.
    public let names: [String]

    public init(folder: String) throws(SafeTensorsError) {
        self.folder = folder
        let layouts: [(index: String, single: String, format: String)] = [
            ("model.safetensors.index.json", "model.safetensors", "safetensors"),
            ("pytorch_model.bin.index.json", "pytorch_model.bin", "pytorch"),
        ]
        guard
            let layout = layouts.first(where: { access(folder + "/" + $0.index, F_OK) == 0 || access(folder + "/" + $0.single, F_OK) == 0 })
        else {
            throw SafeTensorsError(
                path: folder, reason: "no weights: neither model.safetensors (or its index) nor pytorch_model.bin (or its index)")
        }
        format = layout.format
        func open(_ file: String) throws(SafeTensorsError) -> any WeightFile {
            layout.format == "safetensors"
                ? try SafeTensorsFile(path: folder + "/" + file) : try PyTorchCheckpoint(path: folder + "/" + file)
        }
        var shards: [any WeightFile] = []
        var location: [String: (shard: Int, entry: SafeTensorEntry)] = [:]
        var names: [String] = []
        if access(folder + "/" + layout.index, F_OK) == 0 {
            for (tensor, file) in try Self.weightMap(folder + "/" + layout.index) {
                let number = shards.firstIndex { $0.path == folder + "/" + file } ?? shards.count
                if number == shards.count { shards.append(try open(file)) }
                guard let entry = shards[number].entry(tensor) else {
                    throw SafeTensorsError(
                        path: folder + "/" + layout.index, reason: "weight_map says \(tensor) is in \(file), but that file does not hold it"
                    )
                }
                location[tensor] = (number, entry)
                names.append(tensor)
            }
        } else {
            let file = try open(layout.single)
            shards = [file]
            for name in file.tensorNames {
                guard let entry = file.entry(name) else { continue }
                location[name] = (0, entry)
                names.append(name)
            }
        }
        self.shards = shards
        self.location = location
        self.names = names
    }

    /// An index's `weight_map`, in file order: each tensor with its file in the same folder.
    private static func weightMap(_ indexPath: String) throws(SafeTensorsError) -> [(String, String)] {
        let index: MappedFile
        do { index = try MappedFile(path: indexPath) } catch { throw SafeTensorsError(error) }
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: indexPath, reason: reason) }
        let document: JSONValue
        do { document = try index.withBytes { (bytes) throws(JSONError) in try JSONValue.parse(bytes) } } catch {
            throw fail(error.description)
        }
        guard let map = document["weight_map"]?.objectValue else { throw fail("weight_map is missing or not an object") }
        var seen = Set<String>()
        var out: [(String, String)] = []
        for (tensor, value) in map {
            guard let file = value.stringValue, !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
                throw fail("weight_map.\(tensor) must be a file name in the same folder")
            }
            guard seen.insert(tensor).inserted else { throw fail("\(tensor) is listed twice") }
            out.append((tensor, file))
        }
        return out
    }

    public func entry(_ name: String) -> SafeTensorEntry? { location[name]?.entry }

    /// The bytes of a tensor, valid while this checkpoint lives.
    public func bytes(of name: String) -> UnsafeRawBufferPointer? {
        guard let (shard, _) = location[name] else { return nil }
        return shards[shard].bytes(of: name)
    }

    /// Total size of the tensors' data.
    public var byteCount: Int { location.values.reduce(0) { $0 + $1.entry.dataOffsets.count } }
}

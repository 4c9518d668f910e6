import FileIO
#if canImport(Glibc)
    import Glibc
#endif

/// The weights of a Hugging Face model folder: one `model.safetensors`, or shards listed by
/// `model.safetensors.index.json` (`{"metadata": …, "weight_map": {tensor: shard file}}`).
/// Every shard is opened (memory-mapped) once; every tensor the index names must be in
/// the shard it names.
public final class SafeTensorsCheckpoint: @unchecked Sendable {
    public let folder: String
    public let shards: [SafeTensorsFile]
    private let location: [String: (shard: Int, entry: SafeTensorEntry)]
    /// Tensor names in shard order, then file order.
    public let names: [String]

    public init(folder: String) throws(SafeTensorsError) {
        self.folder = folder
        let single = folder + "/model.safetensors"
        let indexPath = folder + "/model.safetensors.index.json"
        var shards: [SafeTensorsFile] = []
        var location: [String: (shard: Int, entry: SafeTensorEntry)] = [:]
        var names: [String] = []
        if access(indexPath, F_OK) == 0 {
            let index: MappedFile
            do { index = try MappedFile(path: indexPath) } catch { throw SafeTensorsError(error) }
            func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: indexPath, reason: reason) }
            let document: JSONValue
            do { document = try index.withBytes { (bytes) throws(JSONError) in try JSONValue.parse(bytes) } } catch {
                throw fail(error.description)
            }
            guard let map = document["weight_map"]?.objectValue else { throw fail("weight_map is missing or not an object") }
            var shardNumber: [String: Int] = [:]
            for (tensor, value) in map {
                guard let file = value.stringValue, !file.isEmpty, !file.contains("/"), file != ".", file != ".." else {
                    throw fail("weight_map.\(tensor) must be a file name in the same folder")
                }
                let number: Int
                if let known = shardNumber[file] {
                    number = known
                } else {
                    number = shards.count
                    shardNumber[file] = number
                    shards.append(try SafeTensorsFile(path: folder + "/" + file))
                }
                guard let entry = shards[number].entry(tensor) else {
                    throw fail("weight_map says \(tensor) is in \(file), but that shard does not hold it")
                }
                guard location[tensor] == nil else { throw fail("\(tensor) is listed twice") }
                location[tensor] = (number, entry)
                names.append(tensor)
            }
        } else {
            let file = try SafeTensorsFile(path: single)
            shards = [file]
            for entry in file.entries {
                location[entry.name] = (0, entry)
                names.append(entry.name)
            }
        }
        self.shards = shards
        self.location = location
        self.names = names
    }

    public func entry(_ name: String) -> SafeTensorEntry? { location[name]?.entry }

    /// The bytes of a tensor, valid while this checkpoint lives.
    public func bytes(of name: String) -> UnsafeRawBufferPointer? {
        guard let (shard, entry) = location[name] else { return nil }
        return shards[shard].bytes(of: entry)
    }

    /// Total size of the tensors' data.
    public var byteCount: Int { location.values.reduce(0) { $0 + $1.entry.dataOffsets.count } }
}

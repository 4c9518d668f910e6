import SafeTensors

/// Named tensors saved as a safetensors file (the format transformers reads), written
/// atomically.
public enum TensorFile {
    /// Writes `tensors` (any device, any of our dtypes) with optional string metadata.
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        let records = tensors.map { name, tensor in
            SafeTensorsRecord(
                name: name, dtype: tensor.dtype.safetensorsName, shape: tensor.shape,
                byteCount: tensor.count * tensor.dtype.byteSize
            ) { (sink) throws(SafeTensorsError) in
                let bytes: [UInt8]
                do {
                    bytes = try tensor.bytes()
                } catch {
                    throw SafeTensorsError(path: path, reason: "tensor '\(name)': \(error)")
                }
                try bytes.withUnsafeBytes { raw in Result { () throws(SafeTensorsError) in try sink(raw) } }.get()
            }
        }
        try SafeTensorsWriter.write(records, metadata: metadata, to: path)
    }

    /// Reads every tensor of a safetensors file into CPU tensors.
    public static func load(from path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = try SafeTensorsFile(path: path)
        defer { withExtendedLifetime(file) {} }  // its mapping backs the bytes read below
        var tensors: [String: Tensor] = [:]
        for entry in file.entries {
            guard let dtype = DType(safetensorsName: entry.dtype) else {
                throw SafeTensorsError(path: path, reason: "tensor '\(entry.name)': dtype \(entry.dtype) is not supported")
            }
            tensors[entry.name] = try Tensor(bytes: file.bytes(of: entry), dtype: dtype, shape: entry.shape)
        }
        return (tensors, file.metadata)
    }
}

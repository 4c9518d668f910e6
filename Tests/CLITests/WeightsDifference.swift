import Foundation

/// The largest absolute difference between two float32 safetensors files' tensors of the
/// same names (nil when a file cannot be read, a name is missing, or a tensor is not F32):
/// for comparing trained weights that should agree to rounding, not byte for byte.
func largestWeightDifference(_ first: String, _ second: String) -> Float? {
    guard let a = SafeTensorsFloats(path: first), let b = SafeTensorsFloats(path: second), a.ranges.keys == b.ranges.keys else {
        return nil
    }
    var largest: Float = 0
    for (name, range) in a.ranges {
        guard let other = b.ranges[name], other.count == range.count else { return nil }
        a.data.withUnsafeBytes { x in
            b.data.withUnsafeBytes { y in
                let p = x.baseAddress!.advanced(by: range.lowerBound).assumingMemoryBound(to: Float.self)
                let q = y.baseAddress!.advanced(by: other.lowerBound).assumingMemoryBound(to: Float.self)
                for i in 0..<(range.count / 4) { largest = max(largest, abs(p[i] - q[i])) }
            }
        }
    }
    return largest
}

/// A safetensors file's bytes and, per float32 tensor, the byte range of its values.
struct SafeTensorsFloats {
    let data: Data
    let ranges: [String: Range<Int>]

    init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 8 else { return nil }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 8 + headerLength <= data.count,
            let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any]
        else { return nil }
        var ranges: [String: Range<Int>] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let entry = entry as? [String: Any], entry["dtype"] as? String == "F32", let offsets = entry["data_offsets"] as? [Int],
                offsets.count == 2
            else {
                return nil
            }
            ranges[name] = (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])
        }
        self.data = data
        self.ranges = ranges
    }
}

/// PLAIN-encoded values of a leaf column, converted by its annotation (UTF-8 text as strings).
enum PlainDecoder {
    static func decode(_ cursor: inout ByteCursor, _ element: SchemaElement, count: Int) throws(ParquetFormatError) -> [ParquetValue] {
        guard let type = element.type else { throw ParquetFormatError("column \(element.name) has no type") }
        var values: [ParquetValue] = []
        values.reserveCapacity(min(count, cursor.remaining + 1))
        switch type {
        case .boolean:
            let bytes = try cursor.take((count + 7) / 8)
            guard bytes.count * 8 >= count else { throw ParquetFormatError("booleans run past the page") }
            for k in 0..<count { values.append(.bool(bytes[k / 8] >> UInt8(k % 8) & 1 == 1)) }
        case .int32:
            for _ in 0..<count { values.append(.int(Int64(Int32(bitPattern: UInt32(try cursor.littleEndian(4)))))) }
        case .int64:
            for _ in 0..<count { values.append(.int(Int64(bitPattern: try cursor.littleEndian(8)))) }
        case .float:
            for _ in 0..<count { values.append(.double(Double(Float(bitPattern: UInt32(try cursor.littleEndian(4)))))) }
        case .double:
            for _ in 0..<count { values.append(.double(Double(bitPattern: try cursor.littleEndian(8)))) }
        case .byteArray:
            for _ in 0..<count {
                let length = Int(try cursor.littleEndian(4))
                values.append(try bytes(try cursor.take(length), element))
            }
        case .fixedLenByteArray:
            guard element.typeLength > 0 else {
                throw ParquetFormatError("column \(element.name): fixed-length bytes of length \(element.typeLength)")
            }
            for _ in 0..<count { values.append(try bytes(try cursor.take(element.typeLength), element)) }
        case .int96:
            throw ParquetFormatError("column \(element.name): INT96 timestamps are not supported")
        }
        return values
    }

    private static func bytes(_ raw: [UInt8], _ element: SchemaElement) throws(ParquetFormatError) -> ParquetValue {
        guard element.isString else { return .bytes(raw) }
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw ParquetFormatError("column \(element.name) holds text that is not UTF-8")
        }
        return .string(text)
    }
}

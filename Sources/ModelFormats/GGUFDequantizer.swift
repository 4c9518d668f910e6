/// Expands GGML block formats to f32, following ggml's reference dequantization.
/// `data` holds exactly count / valuesPerBlock blocks (GGUFFile checks this).
enum GGUFDequantizer {
    static func dequantize(_ data: UnsafeRawBufferPointer, type: GGMLType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch type {
            case .f32:
                for i in 0..<count { out[i] = Float(bitPattern: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            case .f16:
                for i in 0..<count { out[i] = half(data, 2 * i) }
            case .bf16:
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                }
            case .q8_0: q8_0(data, out, count)
            case .q4_0: q4(data, out, count, blockBytes: 18, hasMin: false)
            case .q4_1: q4(data, out, count, blockBytes: 20, hasMin: true)
            case .q5_0: q5(data, out, count, blockBytes: 22, hasMin: false)
            case .q5_1: q5(data, out, count, blockBytes: 24, hasMin: true)
            case .q4_K: q4_K(data, out, count)
            case .q6_K: q6_K(data, out, count)
            default: out.initialize(repeating: .nan)
            }
            initialized = count
        }
    }

    @inline(__always)
    static func half(_ data: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: data.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// 34-byte blocks of 32: f16 scale d, 32 × int8 q; value = d·q.
    static func q8_0(_ data: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ count: Int) {
        for block in 0..<(count / 32) {
            let base = block * 34
            let d = half(data, base)
            for j in 0..<32 { out[block * 32 + j] = d * Float(Int8(bitPattern: data[base + 2 + j])) }
        }
    }

    /// Q4_0 (18 bytes: d, 16 nibble bytes; value = d·(q − 8)) and Q4_1 (20 bytes: d, m,
    /// nibbles; value = d·q + m). Byte j holds value j (low nibble) and value j + 16 (high).
    static func q4(_ data: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ count: Int, blockBytes: Int, hasMin: Bool) {
        for block in 0..<(count / 32) {
            let base = block * blockBytes
            let d = half(data, base)
            let m: Float = hasMin ? half(data, base + 2) : -8 * d
            let quants = base + (hasMin ? 4 : 2)
            for j in 0..<16 {
                let byte = data[quants + j]
                out[block * 32 + j] = d * Float(byte & 0x0F) + m
                out[block * 32 + j + 16] = d * Float(byte >> 4) + m
            }
        }
    }

    /// Q5_0 (22 bytes: f16 d, 4 bytes of fifth bits, 16 nibble bytes; value = d·(q − 16)) and
    /// Q5_1 (24 bytes: d, m, fifth bits, nibbles; value = d·q + m). Bit j of the fifth bits
    /// tops value j; nibbles as in Q4.
    static func q5(_ data: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ count: Int, blockBytes: Int, hasMin: Bool) {
        for block in 0..<(count / 32) {
            let base = block * blockBytes
            let d = half(data, base)
            let m: Float = hasMin ? half(data, base + 2) : 0
            let bitsAt = base + (hasMin ? 4 : 2)
            let high = data.loadUnaligned(fromByteOffset: bitsAt, as: UInt32.self).littleEndian
            let offset: Int32 = hasMin ? 0 : 16
            for j in 0..<16 {
                let byte = data[bitsAt + 4 + j]
                let low = Int32(byte & 0x0F) | Int32((high >> UInt32(j)) & 1) << 4
                let top = Int32(byte >> 4) | Int32((high >> UInt32(j + 16)) & 1) << 4
                out[block * 32 + j] = Float(low - offset) * d + m
                out[block * 32 + j + 16] = Float(top - offset) * d + m
            }
        }
    }

    /// 144-byte super-blocks of 256: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and
    /// mins for eight sub-blocks of 32, then 128 nibble bytes (two sub-blocks per 32 bytes).
    static func q4_K(_ data: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ count: Int) {
        for block in 0..<(count / 256) {
            let base = block * 144
            let d = half(data, base)
            let dmin = half(data, base + 2)
            let scales = base + 4
            func scaleMin(_ j: Int) -> (Float, Float) {
                let s: UInt8
                let m: UInt8
                if j < 4 {
                    s = data[scales + j] & 63
                    m = data[scales + j + 4] & 63
                } else {
                    s = (data[scales + j + 4] & 0x0F) | ((data[scales + j - 4] >> 6) << 4)
                    m = (data[scales + j + 4] >> 4) | ((data[scales + j] >> 6) << 4)
                }
                return (Float(s), Float(m))
            }
            var q = base + 16
            var y = block * 256
            for pair in 0..<4 {
                let (s1, m1) = scaleMin(2 * pair)
                let (s2, m2) = scaleMin(2 * pair + 1)
                let (d1, min1, d2, min2) = (d * s1, dmin * m1, d * s2, dmin * m2)
                for l in 0..<32 { out[y + l] = d1 * Float(data[q + l] & 0x0F) - min1 }
                for l in 0..<32 { out[y + 32 + l] = d2 * Float(data[q + l] >> 4) - min2 }
                q += 32
                y += 64
            }
        }
    }

    /// 210-byte super-blocks of 256: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs,
    /// 16 int8 sub-block scales, f16 d; value = d·scale·(q − 32).
    static func q6_K(_ data: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ count: Int) {
        for block in 0..<(count / 256) {
            let base = block * 210
            let d = half(data, base + 208)
            var ql = base
            var qh = base + 128
            var sc = base + 192
            var y = block * 256
            for _ in 0..<2 {
                for l in 0..<32 {
                    let group = l / 16
                    let h = data[qh + l]
                    let q1 = Int((data[ql + l] & 0x0F) | ((h & 3) << 4)) - 32
                    let q2 = Int((data[ql + l + 32] & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                    let q3 = Int((data[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32
                    let q4 = Int((data[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32
                    func scale(_ k: Int) -> Float { Float(Int8(bitPattern: data[sc + k])) }
                    out[y + l] = d * scale(group) * Float(q1)
                    out[y + l + 32] = d * scale(group + 2) * Float(q2)
                    out[y + l + 64] = d * scale(group + 4) * Float(q3)
                    out[y + l + 96] = d * scale(group + 6) * Float(q4)
                }
                y += 128
                ql += 64
                qh += 32
                sc += 8
            }
        }
    }
}

import Testing

@testable import Torch

extension TorchSuite {
    @Suite struct NumericsTests {
        @Test func softmaxFamilyIsStableOnLargeInputs() throws {
            let x = try Tensor([1000.0, 1001.0, 1002.0, -1000.0] as [Float], shape: [1, 4])
            let p = try x.softmax(dim: -1).toArray(Float.self)
            #expect(p.allSatisfy { $0.isFinite })
            #expect(Swift.abs(p.reduce(0, +) - 1) < 1e-6)
            #expect(Swift.abs(p[2] - 0.66524096) < 1e-6)
            let logp = try x.logSoftmax(dim: -1).toArray(Float.self)
            #expect(Swift.abs(logp[2] - (-0.40760596)) < 1e-5)
            #expect(Swift.abs(logp[3] - (-2002.4076)) < 1e-2)
            let lse = try Tensor([1000.0, 1000.0] as [Float]).logsumexp().item()
            #expect(Swift.abs(lse - (1000 + 0.6931471805599453)) < 1e-4)
            let tiny = try Tensor([-1000.0, -1000.0] as [Float]).logsumexp().item()
            #expect(Swift.abs(tiny - (-1000 + 0.6931471805599453)) < 1e-4)
        }

        /// softmax(q·kᵀ·scale + mask)·v computed step by step.
        func explicitAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, allowed: Tensor) throws -> Tensor {
            let scale = 1 / Double(try q.size(-1)).squareRoot()
            let scores = try q.matmul(k.transpose(-2, -1)) * scale
            let masked = try scores.maskedFill(allowed.logicalNot(), -Double.infinity)
            return try masked.softmax(dim: -1).matmul(v)
        }

        @Test func fusedAttentionMatchesExplicitComputation() throws {
            let g = try Generator(seed: 5)
            let (b, h, t, d) = (2, 4, 6, 8)
            let q = try Tensor.randn([b, h, t, d], generator: g)
            let k = try Tensor.randn([b, h, t, d], generator: g)
            let v = try Tensor.randn([b, h, t, d], generator: g)

            // Causal only.
            let causal = try Tensor.ones([t, t], dtype: .bool).tril()
            let fusedCausal = try scaledDotProductAttention(query: q, key: k, value: v, causal: true)
            let explicitCausal = try explicitAttention(q, k, v, allowed: causal)
            #expect(maxAbsDifference(try doubles(fusedCausal), try doubles(explicitCausal)) < 1e-5)

            // Causal + left padding: the first two positions of batch row 1 are padding.
            let keep = try Tensor([true, true, true, true, true, true, false, false, true, true, true, true], shape: [b, 1, 1, t])
            let allowed = try causal.reshape([1, 1, t, t]).logicalAnd(keep)
            let fused = try scaledDotProductAttention(query: q, key: k, value: v, mask: allowed)
            let explicit = try explicitAttention(q, k, v, allowed: allowed)
            // Fully masked query rows (padding queries) are undefined; compare the real ones.
            let fusedRows = try fused.narrow(dim: 2, start: 2, length: t - 2)
            let explicitRows = try explicit.narrow(dim: 2, start: 2, length: t - 2)
            #expect(maxAbsDifference(try doubles(fusedRows), try doubles(explicitRows)) < 1e-5)

            // Additive float mask gives the same result as the boolean one.
            let additive = try Tensor.zeros([b, 1, t, t]).maskedFill(allowed.logicalNot(), -Double.infinity)
            let fusedAdditive = try scaledDotProductAttention(query: q, key: k, value: v, mask: additive)
            #expect(maxAbsDifference(try doubles(fusedAdditive.narrow(dim: 2, start: 2, length: t - 2)), try doubles(fusedRows)) < 1e-6)
        }

        @Test func groupedQueryAttentionRepeatsKeyValueHeads() throws {
            let g = try Generator(seed: 6)
            let q = try Tensor.randn([1, 6, 5, 4], generator: g)
            let k = try Tensor.randn([1, 2, 5, 4], generator: g)
            let v = try Tensor.randn([1, 2, 5, 4], generator: g)
            let fused = try scaledDotProductAttention(query: q, key: k, value: v, causal: true, groupedQuery: true)
            // Query head i uses key/value head i / 3.
            let index = try Tensor([0, 0, 0, 1, 1, 1] as [Int64])
            let explicit = try explicitAttention(
                q, k.indexSelect(dim: 1, index: index), v.indexSelect(dim: 1, index: index),
                allowed: Tensor.ones([5, 5], dtype: .bool).tril())
            #expect(maxAbsDifference(try doubles(fused), try doubles(explicit)) < 1e-5)
        }

        @Test func reductionsSortingAndScans() throws {
            let x = try Tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0] as [Float], shape: [2, 3])
            #expect(try x.sum().item() == 23)
            #expect(try x.sum(dims: [1]).toArray(Float.self) == [8, 15])
            #expect(try x.mean(dims: [0]).toArray(Float.self) == [2, 3, 6.5])
            let (values, indices) = try x.max(dim: 1)
            #expect(try values.toArray(Float.self) == [4, 9])
            #expect(try indices.toArray(Int.self) == [2, 2])
            #expect(try x.argmax(dim: 0).toArray(Int.self) == [0, 1, 1])
            #expect(try x.argmin(dim: 1).toArray(Int.self) == [1, 0])
            let top = try x.topk(2, dim: 1)
            #expect(try top.values.toArray(Float.self) == [4, 3, 9, 5])
            #expect(try top.indices.toArray(Int.self) == [2, 0, 2, 1])
            let sorted = try x.sort(dim: 1, descending: true)
            #expect(try sorted.values.toArray(Float.self) == [4, 3, 1, 9, 5, 1])
            #expect(try x.cumsum(dim: 1).toArray(Float.self) == [3, 4, 8, 1, 6, 15])
            #expect(try x.std(dims: [1]).toArray(Double.self).map { ($0 * 1e4).rounded() } == [15275, 40000])
            #expect(try x.gt(2.0).sum().itemInt() == 4)
        }

        @Test func dtypeConversionsRoundTrip() throws {
            let values: [Float] = [0.5, -1.25, 3.0, 65504]
            let x = try Tensor(values)
            #expect(try x.to(.float16).to(.float32).toArray(Float.self) == values)
            #expect(try x.to(.bfloat16).to(.float32).toArray(Float.self) == [0.5, -1.25, 3.0, 65536])
            #expect(try x.to(.int64).toArray(Int.self) == [0, -1, 3, 65504])
            #expect(try x.to(.bool).toArray(Bool.self) == [true, true, true, true])
            #expect(try Tensor([1, 2, 255] as [UInt8]).to(.int32).toArray(Int32.self) == [1, 2, 255])
            #expect(try x.toArray(Double.self) == values.map(Double.init))
            #expect(DType.allCases.count == 8)
        }
    }
}

import Testing

@testable import Torch

extension TorchSuite {
    /// Autograd against central finite differences for every differentiable op the models use.
    @Suite struct GradientTests {
        let generator: Generator
        init() throws { generator = try Generator(seed: 1234) }

        func random(_ shape: [Int]) throws -> Tensor {
            try Tensor.randn(shape, dtype: .float64, generator: generator)
        }

        func positive(_ shape: [Int]) throws -> Tensor {
            try random(shape).abs() + 0.5
        }

        @Test func elementwiseArithmeticBroadcasts() throws {
            try checkGradients([random([2, 3]), random([3])]) { x in try x[0] + x[1] * 2.0 - x[0] * x[1] }
            try checkGradients([random([2, 3]), positive([1, 3])]) { x in try x[0] / x[1] + 1.0 / x[1] - (3.0 - x[0]) }
            try checkGradients([positive([4]), random([4])]) { x in try x[0].pow(x[1]) + x[0].pow(2.5) }
        }

        @Test func unaryFunctions() throws {
            let x = try random([2, 4])
            try checkGradients([x]) { try $0[0].exp() }
            try checkGradients([x]) { try $0[0].tanh() }
            try checkGradients([x]) { try $0[0].sigmoid() }
            try checkGradients([x]) { try $0[0].silu() }
            try checkGradients([x]) { try $0[0].gelu() }
            try checkGradients([x]) { try $0[0].gelu(approximate: true) }
            try checkGradients([x]) { try $0[0].square().neg() }
            try checkGradients([x]) { try $0[0].sin() * $0[0].cos() }
            try checkGradients([x]) { try $0[0].erf() }
            let p = try positive([2, 4])
            try checkGradients([p]) { try $0[0].log() }
            try checkGradients([p]) { try $0[0].sqrt() }
            try checkGradients([p]) { try $0[0].rsqrt() }
            try checkGradients([p]) { try $0[0].reciprocal() + $0[0].log1p() }
        }

        @Test func softmaxFamilyAndReductions() throws {
            let x = try random([3, 5])
            try checkGradients([x]) { try $0[0].softmax(dim: -1) }
            try checkGradients([x]) { try $0[0].logSoftmax(dim: 1) }
            try checkGradients([x]) { try $0[0].logsumexp(dims: [1]) }
            try checkGradients([x]) { try $0[0].logsumexp() }
            try checkGradients([x]) { try $0[0].sum(dims: [0], keepDim: true) }
            try checkGradients([x]) { try $0[0].mean(dims: [1]) }
            try checkGradients([x]) { try $0[0].mean() }
            try checkGradients([x]) { try $0[0].amax(dims: [1]) }
            try checkGradients([x]) { try $0[0].variance(dims: [1]) }
            try checkGradients([x]) { try $0[0].norm() }
            try checkGradients([x]) { try $0[0].cumsum(dim: 1) }
        }

        @Test func linearAlgebra() throws {
            try checkGradients([random([3, 4]), random([4, 2])]) { try $0[0].matmul($0[1]) }
            try checkGradients([random([2, 3, 4]), random([2, 4, 2])]) { try $0[0].bmm($0[1]) }
            try checkGradients([random([2, 3, 4]), random([5, 4]), random([5])]) { try $0[0].linear($0[1], bias: $0[2]) }
            try checkGradients([random([3, 4]), random([5, 4])]) { try $0[0].linear($0[1]) }
        }

        @Test func embeddingAndNormalisation() throws {
            let ids = try Tensor([0, 2, 2, 1] as [Int64], shape: [2, 2])
            try checkGradients([random([3, 4])]) { try $0[0].embedding(ids) }
            try checkGradients([random([2, 3, 6]), random([6]), random([6])]) {
                try $0[0].layerNorm([6], weight: $0[1], bias: $0[2], eps: 1e-5)
            }
            try checkGradients([random([2, 3, 6]), random([6])]) { try $0[0].rmsNorm([6], weight: $0[1], eps: 1e-6) }
        }

        @Test func shapeAndIndexingOps() throws {
            let x = try random([2, 3, 4])
            try checkGradients([x]) { try $0[0].transpose(0, 2).reshape([4, 6]).permute([1, 0]) }
            try checkGradients([x]) { try $0[0].narrow(dim: 2, start: 1, length: 2).unsqueeze(0).squeeze(0) }
            try checkGradients([x]) { try $0[0].slice(dim: 1, start: 0, end: 3, step: 2).flatten() }
            try checkGradients([x, random([2, 1, 4])]) { try Tensor.cat([$0[0], $0[1]], dim: 1) }
            try checkGradients([x, random([2, 3, 4])]) { try Tensor.stack([$0[0], $0[1]], dim: 0) }
            try checkGradients([random([1, 3, 1])]) { try $0[0].expand([2, 3, 4]) }
            let index = try Tensor([0, 3, 1, 1, 2, 0] as [Int64], shape: [2, 3, 1])
            try checkGradients([x]) { try $0[0].gather(dim: 2, index: index) }
            try checkGradients([x]) { try $0[0].indexSelect(dim: 2, index: Tensor([3, 0] as [Int64])) }
            try checkGradients([x]) { try $0[0].select(dim: 1, index: 2) }
            try checkGradients([random([3, 3])]) { try $0[0].tril() + $0[0].triu(1) * 2.0 }
        }

        @Test func selectionOps() throws {
            let mask = try Tensor([true, false, true, false, false, true], shape: [2, 3])
            try checkGradients([random([2, 3]), random([2, 3])]) { try Tensor.where(mask, $0[0], $0[1]) }
            try checkGradients([random([2, 3])]) { try $0[0].maskedFill(mask, 0.0) }
            // Keep away from the clamp boundaries, where the derivative jumps.
            let x = try Tensor([-2.0, -0.3, 0.2, 0.7, 1.9, -1.4], shape: [2, 3])
            try checkGradients([x]) { try $0[0].clamp(min: -1, max: 1) }
            try checkGradients([x, random([2, 3])]) { try $0[0].maximum($0[1]) + $0[0].minimum($0[1]) }
        }

        @Test func fusedAttentionWithMasks() throws {
            let q = try random([1, 2, 3, 4])
            let k = try random([1, 2, 3, 4])
            let v = try random([1, 2, 3, 4])
            try checkGradients([q, k, v]) { try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true) }
            let padding = try Tensor([false, true, true], shape: [1, 1, 1, 3])
            try checkGradients([q, k, v]) { try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: padding) }
            let kv = try random([1, 1, 3, 4])
            try checkGradients([q, kv, kv]) {
                try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true, groupedQuery: true)
            }
        }
    }
}

extension TorchSuite {
    @Suite struct FusedLogProbTests {
        /// The chunked fused op equals log_softmax(h·Wᵀ/T) gathered at the targets, in value,
        /// entropy and gradients (several chunk sizes, one not dividing N), whether the
        /// backward pass recomputes the logits, has some kept (132 bytes: 3 rows of 11) or all.
        @Test(arguments: [1, 3, 64], [0, 132, 1 << 20])
        func matchesTheComposedOperations(chunk: Int, kept: Int) throws {
            let g = try Generator(seed: 5)
            let hidden = try Tensor.randn([7, 5], dtype: .float64, generator: g).requiresGrad()
            let weight = try Tensor.randn([11, 5], dtype: .float64, generator: g).requiresGrad()
            let targets = try Tensor([3, 0, 10, 4, 4, 7, 1] as [Int64])
            let entropy = try Tensor.zeros([7])
            let fused = try hidden.linearLogProbs(
                weight: weight, targets: targets, temperature: 0.7, chunk: chunk, entropy: entropy, keptLogitsBytes: kept)
            let upstream = try Tensor.randn([7], generator: g)
            try (fused * upstream).sum().backward()
            let fusedGrads = (try doubles(#require(hidden.grad)), try doubles(#require(weight.grad)))

            let h2 = try hidden.detach().requiresGrad()
            let w2 = try weight.detach().requiresGrad()
            let logProbs = try (h2.linear(w2) / 0.7).logSoftmax(dim: 1)
            let composed = try logProbs.gather(dim: 1, index: targets.unsqueeze(1)).squeeze(1)
            try (composed * upstream.to(.float64)).sum().backward()
            #expect(maxAbsDifference(try doubles(fused), try doubles(composed)) < 1e-5)
            let expectedEntropy = try (logProbs.exp() * logProbs).sum(dims: [1]).neg()
            #expect(maxAbsDifference(try doubles(entropy), try doubles(expectedEntropy)) < 1e-5)
            #expect(maxAbsDifference(fusedGrads.0, try doubles(#require(h2.grad))) < 1e-5)
            #expect(maxAbsDifference(fusedGrads.1, try doubles(#require(w2.grad))) < 1e-5)
        }
    }
}

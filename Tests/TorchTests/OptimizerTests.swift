import Foundation
import Testing

@testable import Torch

extension TorchSuite {
    @Suite struct OptimizerTests {
        /// The gradients fed at each step, and the parameters PyTorch 2.11's AdamW produced
        /// from them (lr 0.1, betas 0.9/0.999, eps 1e-8, weight decay 0.01, float64).
        static let gradients: [[Double]] = [[0.5, -1.0, 0.0], [0.1, 0.3, -2.0], [-0.4, 0.2, 1.0]]
        static let pytorch: [[Double]] = [
            [0.899000002, -1.898000001, 0.24975],
            [0.8177969063826518, -1.8533171424282264, 0.3239139318306456],
            [0.8076091694498291, -1.8310127735702886, 0.3464540552979165],
        ]

        /// The update rule written out on scalars.
        static func byHand(_ start: [Double], steps: Int) -> [Double] {
            var p = start
            var m = [Double](repeating: 0, count: p.count)
            var v = m
            let (lr, b1, b2, eps, wd) = (0.1, 0.9, 0.999, 1e-8, 0.01)
            for t in 1...steps {
                let g = gradients[t - 1]
                for i in p.indices {
                    p[i] -= lr * wd * p[i]
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    let mHat = m[i] / (1 - pow(b1, Double(t)))
                    let denominator = (v[i] / (1 - pow(b2, Double(t)))).squareRoot() + eps
                    p[i] -= lr * mHat / denominator
                }
            }
            return p
        }

        @Test func adamWMatchesTheUpdateRuleAndPyTorch() throws {
            let start = [1.0, -2.0, 0.25]
            let p = try Tensor(start).requiresGrad()
            let optimizer = AdamW([p], learningRate: 0.1, betas: (0.9, 0.999), eps: 1e-8, weightDecay: 0.01)
            for step in 1...3 {
                try optimizer.zeroGrad()
                try (p * Tensor(Self.gradients[step - 1])).sum().backward()
                try optimizer.step()
                let got = try doubles(p)
                #expect(maxAbsDifference(got, Self.byHand(start, steps: step)) < 1e-12, "step \(step)")
                #expect(maxAbsDifference(got, Self.pytorch[step - 1]) < 1e-9, "step \(step)")
            }
            #expect(optimizer.stepCount == 3)
        }

        @Test func learningRateCanChangeBetweenSteps() throws {
            let p = try Tensor([1.0]).requiresGrad()
            let optimizer = AdamW([p], learningRate: 0.1, weightDecay: 0)
            try p.sum().backward()
            optimizer.learningRate = 0
            try optimizer.step()
            #expect(try p.item() == 1.0)
            optimizer.learningRate = 0.5
            try optimizer.step()
            #expect(Swift.abs(try p.item() - 0.5) < 1e-6)
        }

        @Test func optimizerStateRoundTripsThroughItsTensors() throws {
            let a = try Tensor([1.0, 2.0]).requiresGrad()
            let first = AdamW(parameters: [.init(name: "w", tensor: a)], learningRate: 0.05)
            try (a * a).sum().backward()
            try first.step()
            let saved = first.stateTensors()
            #expect(saved.tensors.keys.sorted() == ["exp_avg.w", "exp_avg_sq.w"])

            let b = try a.detach().clone().requiresGrad()
            let second = AdamW(parameters: [.init(name: "w", tensor: b)], learningRate: 0.05)
            try second.loadState(tensors: saved.tensors, step: saved.step)
            for optimizer in [first, second] {
                let p = optimizer.parameters[0].tensor
                try optimizer.zeroGrad()
                try (p * p).sum().backward()
                try optimizer.step()
            }
            #expect(try doubles(a) == doubles(b))
        }

        /// bfloat16 parameters with float32 master weights follow the float32 run (rounded),
        /// where pure bfloat16 updates of lr 1e-4 near 1.0 are rounded away every time; the
        /// master copy survives a save/load of the optimizer state.
        @Test func masterWeightsKeepSmallUpdatesOfBFloat16Parameters() throws {
            func run(_ dtype: DType, master: Bool, steps: Int) throws -> (Tensor, AdamW) {
                let p = try Tensor([1.0, -0.5, 2.0] as [Float]).to(dtype).requiresGrad()
                let optimizer = AdamW(parameters: [.init(name: "w", tensor: p)], learningRate: 1e-4, weightDecay: 0, masterWeights: master)
                for _ in 0..<steps {
                    try optimizer.zeroGrad()
                    try (p.to(.float32) * (try Tensor([1.0, -1.0, 1.0] as [Float]))).sum().backward()
                    try optimizer.step()
                }
                return (p, optimizer)
            }
            let (reference, _) = try run(.float32, master: true, steps: 60)
            let (pure, _) = try run(.bfloat16, master: false, steps: 60)
            let (mixed, optimizer) = try run(.bfloat16, master: true, steps: 60)
            // Each step moves a weight by lr = 1e-4 (Adam's normalised step): 60 steps = 6e-3.
            #expect(try doubles(pure.to(.float32)) == [1.0, -0.5, 2.0])
            let rounded = try doubles(reference.to(.bfloat16).to(.float32))
            #expect(try doubles(mixed.to(.float32)) == rounded)
            #expect(rounded != [1.0, -0.5, 2.0])
            let state = optimizer.stateTensors()
            #expect(state.tensors["master.w"]?.dtype == .float32 && state.tensors["exp_avg.w"]?.dtype == .float32)
            #expect(try doubles(state.tensors["master.w"]!) == doubles(reference).map { Double(Float($0)) })
            // Restored into a fresh optimizer, the next step matches the uninterrupted one.
            let q = try mixed.detach().clone().requiresGrad()
            let restored = AdamW(parameters: [.init(name: "w", tensor: q)], learningRate: 1e-4, weightDecay: 0)
            try restored.loadState(tensors: state.tensors, step: state.step)
            for (param, opt) in [(mixed, optimizer), (q, restored)] {
                try opt.zeroGrad()
                try (param.to(.float32) * (try Tensor([1.0, -1.0, 1.0] as [Float]))).sum().backward()
                try opt.step()
            }
            #expect(try doubles(opt0Master(optimizer)) == doubles(opt0Master(restored)))
        }

        func opt0Master(_ optimizer: AdamW) throws -> Tensor {
            guard let m = optimizer.stateTensors().tensors["master.w"] else { throw TorchError(operation: "test", message: "no master") }
            return m
        }

        @Test func gradientClippingScalesToTheGlobalNorm() throws {
            let a = try Tensor([1.0, 1.0]).requiresGrad()
            let b = try Tensor([1.0]).requiresGrad()
            try ((a * Tensor([3.0, 0.0])).sum() + (b * 4.0).sum()).backward()
            let norm = try clipGradientNorm([a, b], maxNorm: 1)
            #expect(Swift.abs(norm - 5) < 1e-12)
            let ga = try doubles(#require(a.grad))
            let gb = try doubles(#require(b.grad))
            #expect(Swift.abs(ga[0] - 0.6) < 1e-6 && ga[1] == 0 && Swift.abs(gb[0] - 0.8) < 1e-6)
            // Below the limit nothing changes.
            #expect(Swift.abs(try clipGradientNorm([a, b], maxNorm: 10) - 1) < 1e-5)
            #expect(Swift.abs(try doubles(#require(a.grad))[0] - 0.6) < 1e-6)
        }
    }
}

import Testing

@testable import Torch

/// Every Torch test runs inside this serialized suite: the leak test counts live handles
/// process-wide, and libtorch's thread pool is shared, so nothing may run beside them.
@Suite(.serialized) enum TorchSuite {}

/// Largest absolute element-wise difference.
func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

func doubles(_ t: Tensor) throws -> [Double] { try t.toArray(Double.self) }

/// Compares autograd's gradient of sum(f(inputs) · w), for a fixed random w, with central
/// finite differences, for every input and element. Inputs are float64.
func checkGradients(
    _ inputs: [Tensor], step: Double = 1e-6, tolerance: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation,
    _ f: ([Tensor]) throws -> Tensor
) throws {
    let leaves = try inputs.map { try $0.detach().clone().requiresGrad() }
    let output = try f(leaves)
    let weights = try Tensor.randn(output.shape, dtype: .float64, generator: Generator(seed: 99))
    try (output * weights).sum().backward()

    func loss(_ values: [Tensor]) throws -> Double {
        try withNoGrad { try (f(values) * weights).sum().item() }
    }

    for (k, input) in inputs.enumerated() {
        let analytic = try leaves[k].grad.map(doubles) ?? [Double](repeating: 0, count: input.count)
        let base = try doubles(input)
        var numeric: [Double] = []
        for i in 0..<base.count {
            var plus = base
            var minus = base
            plus[i] += step
            minus[i] -= step
            var up = inputs
            var down = inputs
            up[k] = try Tensor(plus, shape: input.shape)
            down[k] = try Tensor(minus, shape: input.shape)
            numeric.append((try loss(up) - loss(down)) / (2 * step))
        }
        let error = maxAbsDifference(analytic, numeric)
        #expect(error < tolerance, "input \(k): max |autograd − finite difference| = \(error)", sourceLocation: sourceLocation)
    }
}

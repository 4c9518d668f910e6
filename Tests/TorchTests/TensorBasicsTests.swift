import Testing

@testable import Torch

extension TorchSuite {
    @Suite struct TensorBasicsTests {
        @Test func creationFunctionsFillAsAsked() throws {
            #expect(try Tensor.zeros([2, 2]).toArray(Float.self) == [0, 0, 0, 0])
            #expect(try Tensor.ones([3], dtype: .int32).toArray(Int32.self) == [1, 1, 1])
            #expect(try Tensor.full([2], 7, dtype: .int64).toArray(Int.self) == [7, 7])
            #expect(try Tensor.full([2], 0.25).toArray(Float.self) == [0.25, 0.25])
            #expect(try Tensor.arange(5).toArray(Int.self) == [0, 1, 2, 3, 4])
            #expect(try Tensor.arange(1.0, 2.0, step: 0.25, dtype: .float32).toArray(Float.self) == [1, 1.25, 1.5, 1.75])
            let x = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
            #expect(x.shape == [2, 3] && x.rank == 2 && x.count == 6 && x.dtype == .float32 && x.device == .cpu)
            #expect(x.strides == [3, 1])
            #expect(try Tensor(scalar: 3 as Int64).shape == [])
            #expect(try x.size(-1) == 3)
            #expect(throws: TorchError.self) { try x.size(2) }
            let r = try Tensor.randint(0, 10, [100], generator: Generator(seed: 1)).toArray(Int.self)
            #expect(r.allSatisfy { (0..<10).contains($0) })
            #expect(x.description.contains("[ CPUFloatType{2,3} ]"))
        }

        @Test func viewsShareStorageAndCopiesDoNot() throws {
            let x = try Tensor.arange(0, 6, dtype: .float32).reshape([2, 3])
            let row = try x.select(dim: 0, index: 1)
            try row.fill_(9)
            #expect(try x.toArray(Float.self) == [0, 1, 2, 9, 9, 9])
            let copy = try x.clone()
            try copy.zero_()
            #expect(try x.sum().item() == 30)
            let t = try x.transpose(0, 1)
            let packed = try t.contiguous()
            #expect(!t.isContiguous && packed.isContiguous)
            #expect(t.sharesData(with: x) && !packed.sharesData(with: x))
            #expect(throws: TorchError.self) { try t.view([6]) }
            #expect(try t.reshape([6]).toArray(Float.self) == [0, 9, 1, 9, 2, 9])
        }

        @Test func indexingOps() throws {
            let x = try Tensor([10, 20, 30, 40] as [Float], shape: [2, 2])
            let index = try Tensor([1, 0, 0, 0] as [Int64], shape: [2, 2])
            #expect(try x.gather(dim: 1, index: index).toArray(Float.self) == [20, 10, 30, 30])
            let source = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
            #expect(try x.scatter(dim: 1, index: index, source: source).toArray(Float.self) == [2, 1, 4, 40])
            #expect(try Tensor.zeros([2, 2]).scatterAdd(dim: 1, index: index, source: source).toArray(Float.self) == [2, 1, 7, 0])
            #expect(try x.maskedSelect(x.gt(15.0)).toArray(Float.self) == [20, 30, 40])
            #expect(try x.flip([1]).toArray(Float.self) == [20, 10, 40, 30])
            #expect(try x.gt(25.0).nonzero().toArray(Int.self) == [1, 0, 1, 1])
            #expect(try x.repeated([1, 2]).shape == [2, 4])
            #expect(try x.unsqueeze(0).expand([3, 2, 2]).shape == [3, 2, 2])
            #expect(try Tensor.where(x.gt(25.0), x, x.zerosLike()).toArray(Float.self) == [0, 0, 30, 40])
        }

        @Test func inPlaceUpdates() throws {
            let p = try Tensor([1.0, 2.0])
            try p.add_(Tensor([1.0, 1.0]), alpha: 2)
            try p.mul_(0.5)
            try p.addcmul_(Tensor([1.0, 2.0]), Tensor([3.0, 4.0]), value: 0.5)
            try p.addcdiv_(Tensor([1.0, 1.0]), Tensor([2.0, 4.0]), value: 2)
            try p.lerp_(Tensor([0.0, 0.0]), weight: 0.5)
            // ((1+2)/2 + 1.5 + 1) / 2 = 2, ((2+2)/2 + 4 + 0.5) / 2 = 3.25
            #expect(try doubles(p) == [2, 3.25])
            let q = try Tensor.zeros([2, 3])
            try q.narrow(dim: 1, start: 1, length: 2).copy_(Tensor.ones([2, 2]))
            #expect(try q.toArray(Float.self) == [0, 1, 1, 0, 1, 1])
        }

        @Test func noGradScopeStopsRecordingAndRestores() throws {
            let w = try Tensor([1.0, 2.0]).requiresGrad()
            #expect(isGradEnabled)
            let y = try withNoGrad { try w * 2.0 }
            #expect(!y.requiresGrad && isGradEnabled)
            struct Stop: Error {}
            #expect(throws: Stop.self) { try withNoGrad { () throws(Stop) in throw Stop() } }
            #expect(isGradEnabled)
            let z = try (w * w).sum()
            #expect(z.requiresGrad && !z.isLeaf && w.isLeaf)
            try z.backward(retainGraph: true)
            try z.backward()
            #expect(try doubles(#require(w.grad)) == [4, 8], "two backward passes accumulate")
            let h = try w * 3.0
            try h.retainGrad()
            try h.sum().backward()
            #expect(try doubles(#require(h.grad)) == [1, 1])
            #expect(try w.detach().requiresGrad == false)
        }
    }
}

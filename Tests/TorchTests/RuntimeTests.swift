import Foundation
import Testing

@testable import Torch

extension TorchSuite {
    @Suite struct ErrorTests {
        /// Runs `body`, requires a TorchError, and returns its message.
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
            } catch let error as TorchError {
                return error.description
            } catch {
                Issue.record("expected a TorchError, got \(error)")
                return ""
            }
            Issue.record("expected a TorchError")
            return ""
        }

        @Test func libtorchExceptionsBecomeSwiftErrorsWithItsMessage() throws {
            let a = try Tensor.zeros([2, 3])
            let b = try Tensor.zeros([4, 5])
            #expect(message { _ = try a.matmul(b) }.contains("cannot be multiplied"))
            #expect(message { _ = try a + Tensor.zeros([3, 2]) }.contains("must match the size"))
            #expect(message { _ = try a.reshape([7]) }.contains("invalid for input of size 6"))
            #expect(message { _ = try a.narrow(dim: 1, start: 2, length: 5) }.contains("exceeds dimension size"))
            #expect(message { _ = try a.select(dim: 0, index: 9) }.contains("out of range"))
            #expect(message { _ = try a.transpose(0, 5) }.contains("Dimension out of range"))
            let ids = try Tensor([0, 7] as [Int64])
            #expect(message { _ = try Tensor.zeros([3, 2]).embedding(ids) }.contains("out of range"))
            #expect(message { _ = try Tensor.zeros([3, 2]).embedding(Tensor([0.5] as [Float])) }.contains("Long"))
            #expect(message { _ = try a.logicalNot().sum().backward() }.contains("does not require grad"))
            #expect(message { _ = try Tensor([1, 2, 3] as [Float], shape: [2, 2]) }.contains("do not fill shape"))
            // The thrown error names the Swift operation and drops libtorch's C++ backtrace.
            #expect(message { _ = try a.matmul(b) }.hasPrefix("matmul: "))
            #expect(!message { _ = try a.matmul(b) }.contains("frame #"))
        }

        @Test func errorsLeaveTheLibraryUsable() throws {
            for _ in 0..<100 { _ = try? Tensor.zeros([2]).reshape([3]) }
            #expect(try (Tensor.ones([2]) + 1.0).toArray(Float.self) == [2, 2])
        }

        @Test func deterministicModeSwitchesAndTheOpsWeUseStillRun() throws {
            defer { try? Torch.setDeterministic(false) }
            try Torch.setDeterministic(true)
            #expect(Torch.isDeterministic)
            // What a training step asks of the engine, with the switch on (CPU kernels have
            // deterministic implementations; an op without one would throw here).
            let w = try Tensor.randn([8, 4], generator: Generator(seed: 1)).requiresGrad()
            let ids = try Tensor([0, 3, 3, 7] as [Int64])
            let loss = try w.embedding(ids).matmul(try w.transpose(0, 1)).logSoftmax(dim: -1).sum()
            try loss.backward()
            #expect(w.grad != nil)
            try Torch.setDeterministic(false)
            #expect(!Torch.isDeterministic)
        }

        @Test func cudaIsAbsentOnThisMachineOrUsable() throws {
            if Device.cudaAvailable {
                #expect(Device.cudaDeviceCount > 0)
                #expect(try Tensor.ones([2], device: .cuda).to(.cpu).toArray(Float.self) == [1, 1])
            } else {
                #expect(CUDARuntime.load() != nil)
                #expect(throws: TorchError.self) { try Tensor.ones([2], device: .cuda) }
            }
            #expect(Device("cuda:1") == .cuda(1))
            #expect(Device("gpu") == nil)
        }
    }

    @Suite struct LifetimeTests {
        @Test func handlesAreReleasedAfterManyThousandsOfOperations() throws {
            let before = Torch.liveTensors
            let generator = try Generator(seed: 3)
            let weight = try Tensor.randn([16, 16], generator: generator).requiresGrad()
            for i in 0..<3000 {
                let x = try Tensor.randn([4, 16], generator: generator)
                let y = try (x.matmul(weight).tanh() * 0.5 + x).softmax(dim: -1)
                let loss = try y.logSoftmax(dim: -1).narrow(dim: 1, start: 0, length: 4).sum()
                try loss.backward()
                if i % 100 == 0 { try weight.zeroGrad() }
                _ = try? x.reshape([5])  // failures must not leak either
                _ = try y.max(dim: 1)
                _ = try Tensor.cat([x, y], dim: 0).toArray(Float.self)
            }
            try weight.zeroGrad()
            #expect(Torch.liveTensors - before == 1, "only `weight` should remain alive")
        }
    }

    @Suite struct RandomTests {
        @Test func sameSeedSameNumbers() throws {
            let a = try Tensor.randn([64], generator: Generator(seed: 42)).toArray(Float.self)
            let b = try Tensor.randn([64], generator: Generator(seed: 42)).toArray(Float.self)
            let c = try Tensor.randn([64], generator: Generator(seed: 43)).toArray(Float.self)
            #expect(a == b)
            #expect(a != c)
            Torch.manualSeed(7)
            let d = try Tensor.rand([8]).toArray(Float.self)
            Torch.manualSeed(7)
            #expect(try Tensor.rand([8]).toArray(Float.self) == d)
        }

        @Test func generatorStateRestoresTheStream() throws {
            let g = try Generator(seed: 11)
            _ = try Tensor.rand([10], generator: g)
            let state = try g.state()
            let next = try Tensor.randn([5], generator: g).toArray(Float.self)
            try g.setState(state)
            #expect(try Tensor.randn([5], generator: g).toArray(Float.self) == next)
        }

        @Test func multinomialFollowsTheWeightsAndTheSeed() throws {
            let weights = try Tensor([0.0, 0.0, 1.0, 0.0] as [Float], shape: [1, 4])
            #expect(try weights.multinomial(samples: 3, replacement: true, generator: Generator(seed: 1)).toArray(Int.self) == [2, 2, 2])
            let probs = try Tensor([0.1, 0.2, 0.3, 0.4] as [Float])
            let draw = { () throws -> [Int] in
                try probs.multinomial(samples: 4000, replacement: true, generator: Generator(seed: 9)).toArray(Int.self)
            }
            let samples = try draw()
            #expect(try draw() == samples)
            let share = Double(samples.filter { $0 == 3 }.count) / 4000
            #expect(Swift.abs(share - 0.4) < 0.03)
        }

        @Test func threadCountCanBeSet() throws {
            let previous = Torch.threads
            Torch.threads = 1
            #expect(Torch.threads == 1)
            Torch.threads = previous
            #expect(Torch.version == "2.11.0")
        }
    }

    @Suite struct SerializationTests {
        @Test func namedTensorsRoundTripThroughSafetensors() throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("iap-\(UUID().uuidString).safetensors").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let tensors: [String: Tensor] = [
                "model.embed_tokens.weight": try Tensor.randn([5, 3], generator: Generator(seed: 2)),
                "ids": try Tensor([1, 2, 3] as [Int64]),
                "half": try Tensor([0.5, 1.5] as [Float]).to(.bfloat16),
                "mask": try Tensor([true, false]),
                "scalar": try Tensor(scalar: 2.5 as Double),
            ]
            try TensorFile.save(tensors, metadata: ["format": "pt"], to: path)
            let (loaded, metadata) = try TensorFile.load(from: path)
            #expect(metadata == ["format": "pt"])
            #expect(Set(loaded.keys) == Set(tensors.keys))
            for (name, original) in tensors {
                let copy = try #require(loaded[name])
                #expect(copy.dtype == original.dtype, "\(name)")
                #expect(copy.shape == original.shape, "\(name)")
                #expect(try copy.bytes() == original.bytes(), "\(name)")
            }
        }
    }
}

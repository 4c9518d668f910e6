import ArgumentParser
import FoundationEssentials
import ModelFormats
import ModelStore
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// Micro-benchmarks of the tensor layer; `scripts/bench-torch.sh` runs them beside the same
/// measurements from Python PyTorch and compares.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure tensor-engine speed (matmul GFLOP/s, per-op overhead); prints one JSON object per line.",
        subcommands: [Ops.self, GGUF.self])

    struct Ops: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ops", abstract: "f32 matmul 1024³ at 1 and 2 threads; time of one small add from Swift.")

        @Option(help: "Iterations of the small-op loop.")
        var iterations = 200_000

        @Option(help: "Matrix size for the matmul measurement.")
        var size = 1024

        func run() throws {
            for threads in [1, 2] {
                Torch.threads = threads
                let gflops = try measureMatmul(size: size)
                print(#"{"bench":"matmul_f32","size":\#(size),"threads":\#(threads),"gflops":\#(rounded(gflops))}"#)
            }
            Torch.threads = 1
            let micros = try measureSmallAdd(iterations: iterations)
            print(#"{"bench":"add_8_f32","threads":1,"us_per_op":\#(rounded(micros, 3))}"#)
        }
    }
}

extension BenchCommand {
    struct GGUF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gguf", abstract: "Open a GGUF file and dequantize every tensor to f32: time and peak memory.")

        @Option(help: "A model name or .gguf path.")
        var model = "smollm2-135m-instruct"

        func run() throws {
            let path = try ModelStore().resolve(model).path
            let clock = ContinuousClock()
            let start = clock.now
            let file = try GGUFFile(path: path)
            let opened = clock.now - start
            var values = 0
            for tensor in file.tensors {
                let data = try file.dequantize(tensor)
                values += data.count
            }
            let total = clock.now - start
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            print(
                #"{"bench":"gguf_dequantize","tensors":\#(file.tensors.count),"values":\#(values),"#
                    + #""open_s":\#(rounded(seconds(opened), 3)),"total_s":\#(rounded(seconds(total), 3)),"#
                    + #""peak_rss_mb":\#(usage.ru_maxrss / 1024)}"#)
        }
    }
}

private func rounded(_ x: Double, _ digits: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return String((x * scale).rounded() / scale)
}

private func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
}

/// Best of several timed rounds of n×n·n×n products (2n³ flops each).
private func measureMatmul(size n: Int) throws -> Double {
    let generator = try Generator(seed: 0)
    let a = try Tensor.randn([n, n], generator: generator)
    let b = try Tensor.randn([n, n], generator: generator)
    for _ in 0..<3 { _ = try a.matmul(b) }
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<5 {
        let repeats = 5
        let elapsed = try clock.measure {
            for _ in 0..<repeats { _ = try a.matmul(b) }
        }
        best = min(best, seconds(elapsed) / Double(repeats))
    }
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
}

/// Median over rounds of the time of one `a + b` on 8-element f32 tensors, in µs.
private func measureSmallAdd(iterations: Int) throws -> Double {
    let a = try Tensor.ones([8])
    let b = try Tensor.ones([8])
    for _ in 0..<10_000 { _ = try a + b }
    let clock = ContinuousClock()
    var rounds: [Double] = []
    for _ in 0..<5 {
        let elapsed = try clock.measure {
            for _ in 0..<iterations { _ = try a + b }
        }
        rounds.append(seconds(elapsed) / Double(iterations) * 1e6)
    }
    return rounds.sorted()[rounds.count / 2]
}

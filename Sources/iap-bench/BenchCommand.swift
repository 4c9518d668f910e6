import ArgumentParser
import CommandSupport
import FoundationEssentials
import ModelFormats
import ModelStore
import Torch

#if canImport(Glibc)
    import Glibc
#endif

/// `iap-bench`: the benchmarks, apart from the product CLI (they carry stand-in servers).
/// The scripts in scripts/bench-*.sh run them beside the Python/C++ references and compare;
/// every measurement prints one JSON line.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iap-bench",
        abstract: "Measure the tensor engine, tokenizer, models, judge client and server; prints one JSON object per line.",
        subcommands: [
            Ops.self, GGUF.self, Tokenize.self, Generate.self, Rollouts.self, TrainStep.self, PolicyStep.self, JudgeServer.self,
            JudgeClient.self, Serve.self, ServeAbandon.self, ServePrefill.self, IAPStep.self,
            Zero2.self,
        ])

    static func main() async {
        // As in `iap`: the CUDA backend is loaded before anything asks libtorch for its hooks.
        CUDARuntime.load()
        await main(nil)
    }

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
                BenchResult.print(BenchResult.Matmul(size: size, threads: threads, gflops: rounded(gflops)))
            }
            Torch.threads = 1
            let micros = try measureSmallAdd(iterations: iterations)
            BenchResult.print(BenchResult.SmallAdd(usPerOp: rounded(micros, 3)))
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
            BenchResult.print(
                BenchResult.GGUFDequantize(
                    tensors: file.tensors.count, values: values, openS: rounded(seconds(opened), 3), totalS: rounded(seconds(total), 3),
                    peakRSSMB: usage.ru_maxrss / 1024))
        }
    }
}

extension BenchCommand {
    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tokenize",
            abstract: "Encode a text file paragraph by paragraph (blank-line separated) on one thread: MB/s, tokens/s.")

        @Option(help: "A model name or path.")
        var model = "smollm2-135m-instruct"

        @Option(help: "The text file.")
        var file: String

        @Option(help: "Reference ids (int32 little-endian, all paragraphs concatenated) to compare with.")
        var referenceIds: String?

        @Option(help: "Timed rounds (the best is reported; the first round starts with an empty cache).")
        var rounds = 3

        @Option(help: "Repeat the file's text until it holds at least this many MB (scaling checks).")
        var repeatToMb: Double?

        @Flag(help: "Encode the whole text in one call instead of paragraph by paragraph.")
        var whole = false

        func run() throws {
            let files = try CLI.openModel(model)
            let tokenizer = try CLI.loadTokenizer(files)
            var text = try CLI.readText(file)
            if let repeatToMb, !text.isEmpty {
                let unit = text
                while Double(text.utf8.count) < repeatToMb * 1e6 { text += unit }
            }
            let paragraphs = whole ? [text] : text.split(separator: "\n\n", omittingEmptySubsequences: true).map(String.init)
            let clock = ContinuousClock()
            var best = Double.infinity
            var first = 0.0
            var ids: [Int] = []
            for round in 0..<max(rounds, 1) {
                var all: [Int] = []
                all.reserveCapacity(text.utf8.count / 3)
                let elapsed = clock.measure {
                    for paragraph in paragraphs { all += tokenizer.encode(paragraph) }
                }
                if round == 0 { first = seconds(elapsed) }
                best = min(best, seconds(elapsed))
                ids = all
            }
            let megabytes = Double(text.utf8.count) / 1e6
            var result = BenchResult.Tokenize(
                model: model, paragraphs: paragraphs.count, megabytes: rounded(megabytes, 2), tokens: ids.count,
                firstRoundS: rounded(first, 3),
                bestS: rounded(best, 3), mbPerS: rounded(megabytes / best, 2), tokensPerS: Int(Double(ids.count) / best))
            if let referenceIds {
                let reference = try Self.readInt32(referenceIds)
                result.referenceTokens = reference.count
                result.idsIdentical = reference == ids.map { Int32($0) }
            }
            BenchResult.print(result)
        }

        static func readInt32(_ path: String) throws(ExitCode) -> [Int32] {
            guard let handle = fopen(path, "rb") else { throw CLI.failure("\(path): cannot open") }
            defer { fclose(handle) }
            var out: [Int32] = []
            var buffer = [Int32](repeating: 0, count: 1 << 16)
            while true {
                let n = fread(&buffer, 4, buffer.count, handle)
                out += buffer[0..<n].map { Int32(littleEndian: $0) }
                if n < buffer.count { break }
            }
            return out
        }
    }
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

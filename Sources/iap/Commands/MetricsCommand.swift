import ArgumentParser
import CommandSupport
import FileIO
import IAPCore
import JSONFiles

/// `iap metrics RUN`: one logged step's metrics; checks them against a pinned record
/// (`--expect`, CI's guard of the demo) or pins them (`--pin`, regenerating that record).
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print a training run's metrics for one step; compare them with a pinned record or pin them.")

    @Argument(help: "A run folder (holds metrics.jsonl).")
    var folder: String

    @Option(help: "The step (default: the last logged).")
    var step: Int?

    @Option(help: "A pinned-metrics JSON file: exit 1 naming every metric outside its tolerance (its step replaces --step).")
    var expect: String?

    @Option(help: "Write the step's metrics as a pinned record to this file (what --expect reads).")
    var pin: String?

    @Option(help: "With --pin: the tolerance written for every metric.")
    var tolerance = 0.02

    @Option(help: "With --pin: where and how the values were measured (kept in the file).")
    var note = ""

    func validate() throws {
        if let step { try FlagCheck.atLeast("--step", step, 1) }
        try FlagCheck.within("--tolerance", tolerance, 0...1e6)
        if expect != nil && pin != nil { throw ValidationError("--expect and --pin: give one of them") }
    }

    func run() throws {
        var pinned: PinnedMetrics?
        if let expect {
            do { pinned = try JSONFile.read(PinnedMetrics.self, from: expect) } catch { throw CLI.failure("\(error)") }
        }
        let line = try loggedLine(step: pinned?.step ?? step)
        for name in line.values.keys.sorted() {
            print("\(name) \(line[name].map { "\($0)" } ?? "null")")
        }
        if let pin {
            let record = PinnedMetrics(line: line, note: note, tolerances: [:], defaultTolerance: tolerance)
            do { try JSONFile.write(record, to: pin) } catch { throw CLI.failure("\(error)") }
            print("pinned step \(line.step)'s \(record.values.count) metrics in \(pin)")
        }
        guard let pinned else { return }
        let off = pinned.mismatches(in: line)
        guard off.isEmpty else {
            throw CLI.failure(
                "step \(line.step) of \(folder) differs from \(expect ?? ""):\n  " + off.joined(separator: "\n  ")
                    + "\n(pinned: \(pinned.note)). A change meant to alter the run: regenerate the record with --pin.")
        }
        print("step \(line.step) agrees with \(expect ?? "") (\(pinned.values.count) metrics)")
    }

    private func loggedLine(step: Int?) throws(ExitCode) -> MetricsLine {
        let path = folder + "/metrics.jsonl"
        guard FileSystem.exists(path) else { throw CLI.failure("\(folder): not a run folder (no metrics.jsonl)") }
        let lines: [MetricsLine]
        do { lines = try JSONLines.read(MetricsLine.self, from: path).records } catch { throw CLI.failure("\(error)") }
        guard let line = step.map({ s in lines.last { $0.step == s } }) ?? lines.last else {
            throw CLI.failure("\(path): no line for step \(step.map(String.init) ?? "any")")
        }
        return line
    }
}

import FileIO
import Foundation

/// A bert_score baseline file (`rescale_baseline/<lang>/<model>.tsv` in bert_score's
/// repository): a header `LAYER,P,R,F`, then one line per layer with the expected precision,
/// recall and F1 of unrelated sentences. Rescaling maps x to (x − b)/(1 − b), so unrelated
/// text scores about 0 — bert_score's `rescale_with_baseline`.
public struct BERTScoreBaseline: Sendable, Equatable {
    public let precision: Double
    public let recall: Double
    public let f1: Double

    public init(precision: Double, recall: Double, f1: Double) {
        (self.precision, self.recall, self.f1) = (precision, recall, f1)
    }

    /// The baseline of `layer` in the file at `path`; errors name the file and line.
    public static func load(_ path: String, layer: Int) throws(FileIOError) -> BERTScoreBaseline {
        let text = try AtomicFile.readText(path)
        var rows: [Int: BERTScoreBaseline] = [:]
        for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() where n > 0 {
            let fields = line.split(whereSeparator: { $0 == "," || $0 == "\t" }).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 4, let l = Int(fields[0]), let p = Double(fields[1]), let r = Double(fields[2]),
                let f = Double(fields[3]),
                [p, r, f].allSatisfy({ $0 < 1 })
            else {
                throw FileIOError(path: "\(path):\(n + 1)", reason: "expected LAYER,P,R,F with baselines below 1, got \"\(line)\"")
            }
            rows[l] = BERTScoreBaseline(precision: p, recall: r, f1: f)
        }
        guard let row = rows[layer] else {
            throw FileIOError(
                path: path, reason: "no baseline for layer \(layer) (layers \(rows.keys.sorted().map(String.init).joined(separator: ", ")))"
            )
        }
        return row
    }
}

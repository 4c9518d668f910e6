import JSONFiles

/// One step's metrics recorded on purpose, and how far a later run may stray from them:
/// CI's shortened demo compares its first step with a committed record, so a change that
/// alters the run (a sampling stream, a prompt, a reward term) fails until the record is
/// regenerated (`iap metrics RUN --step 1 --pin FILE`).
public struct PinnedMetrics: Codable, Sendable, Equatable {
    /// Why these values and where they were measured (shown when the check fails).
    public var note: String
    public var step: Int
    /// Largest accepted |run − pinned| per metric; names missing here use `defaultTolerance`.
    public var tolerances: [String: Double]
    public var defaultTolerance: Double
    public var values: [String: Double]

    enum CodingKeys: String, CodingKey {
        case note, step, tolerances, values
        case defaultTolerance = "default_tolerance"
    }

    public init(note: String, step: Int, tolerances: [String: Double], defaultTolerance: Double, values: [String: Double]) {
        self.note = note
        self.step = step
        self.tolerances = tolerances
        self.defaultTolerance = defaultTolerance
        self.values = values
    }

    /// The metrics a run's outcome depends on; timings and the learning rate are left out
    /// (timings vary by machine; the rate is fixed by the config).
    public static let checkedNames = [
        "reward/mean", "reward/personalization", "reward/similarity", "reward/contrast", "reward/length_penalty",
        "format/valid_fraction", "format/copied_prompt_fraction", "format/repeated_lines_fraction",
        "intent/count", "intent/tokens", "response/tokens", "policy/loss", "policy/kl", "policy/entropy", "policy/grad_norm",
    ]

    /// Pins `line`'s checked metrics (those it has values for).
    public init(line: MetricsLine, note: String, tolerances: [String: Double], defaultTolerance: Double) {
        var values: [String: Double] = [:]
        for name in Self.checkedNames { if let value = line[name] { values[name] = value } }
        self.init(note: note, step: line.step, tolerances: tolerances, defaultTolerance: defaultTolerance, values: values)
    }

    /// One line per metric outside its tolerance, or missing from the run; empty when all agree.
    public func mismatches(in line: MetricsLine) -> [String] {
        values.keys.sorted().compactMap { name in
            let pinned = values[name] ?? 0
            let tolerance = tolerances[name] ?? defaultTolerance
            guard let value = line[name] else { return "\(name): pinned \(format(pinned)), the run logged none" }
            let gap = abs(value - pinned)
            return gap <= tolerance
                ? nil : "\(name): \(format(value)), pinned \(format(pinned)) ± \(format(tolerance)) (off by \(format(gap)))"
        }
    }

    private func format(_ x: Double) -> String {
        let scaled = (x * 10_000).rounded() / 10_000
        return "\(scaled)"
    }
}

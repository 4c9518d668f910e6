import Testing

@testable import IAPCore

/// Issue 29: CI's shortened demo checks its first step against a pinned record.
@Suite struct PinnedMetricsTests {
    static let line = MetricsLine(
        step: 1,
        values: [
            ("reward/mean", -0.065), ("reward/personalization", 0.058), ("policy/grad_norm", 1.81), ("time/update", 32.5), ("optim/lr", 0),
        ])

    @Test func pinsTheOutcomeNotTheTimings() {
        let pinned = PinnedMetrics(line: Self.line, note: "n", tolerances: [:], defaultTolerance: 0.02)
        #expect(pinned.values == ["reward/mean": -0.065, "reward/personalization": 0.058, "policy/grad_norm": 1.81])
        #expect(pinned.mismatches(in: Self.line).isEmpty)
    }

    @Test func everyMetricOutsideItsToleranceIsNamed() {
        var pinned = PinnedMetrics(line: Self.line, note: "n", tolerances: ["policy/grad_norm": 0.5], defaultTolerance: 0.02)
        pinned.values["reward/similarity"] = 0.2
        let run = MetricsLine(step: 1, values: [("reward/mean", -0.2), ("reward/personalization", 0.07), ("policy/grad_norm", 2.2)])
        #expect(
            pinned.mismatches(in: run) == [
                "reward/mean: -0.2, pinned -0.065 ± 0.02 (off by 0.135)",
                "reward/similarity: pinned 0.2, the run logged none",
            ])
    }
}

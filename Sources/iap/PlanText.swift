import IAPCore

/// `iap plan`'s text: the config's terms by phase, the peak against the memory, and which
/// strategies fit on the same GPUs.
enum PlanText {
    static func gib(_ bytes: Int) -> String {
        let value = Double(bytes) / Double(1 << 30)
        return String(format: value < 10 ? "%.2f GiB" : "%.1f GiB", value)
    }

    static func render(_ report: PlanReport) -> String {
        let plan = report.plan
        var lines = [
            "\(plan.model): \(plan.parameters.formatted()) parameters, \(plan.trainedParameters.formatted()) trained; "
                + "\(plan.strategy.rawValue)\(plan.lora ? " + LoRA" : "") on \(plan.ranks) rank(s) of \(gib(plan.memoryBytes))"
        ]
        for phase in [MemoryPlan.Phase.always, .rollout, .update] {
            lines.append(
                ["always held:", "while generating:", "while updating (one micro-batch):"][
                    [MemoryPlan.Phase.always, .rollout, .update].firstIndex(of: phase)!])
            for term in plan.terms where term.phase == phase {
                lines.append(
                    "  \(term.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(gib(term.bytes).leftPadded(10))   \(term.formula)")
            }
        }
        lines.append(
            "peak: \(gib(plan.peakBytes)) (generating \(gib(plan.rolloutPeakBytes)), updating \(gib(plan.updatePeakBytes))) of \(gib(plan.memoryBytes)): "
                + (plan.fits ? "fits, \(gib(plan.freeBytes)) free" : "does NOT fit, \(gib(-plan.freeBytes)) over"))
        lines.append("strategies on these GPUs:")
        for verdict in report.strategies {
            let name = verdict.strategy.rawValue + (verdict.lora ? " + LoRA" : "")
            lines.append(
                "  \(name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(gib(verdict.peakBytes).leftPadded(10))  \(verdict.fits ? "fits" : "does not fit")"
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

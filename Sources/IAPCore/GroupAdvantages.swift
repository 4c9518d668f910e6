/// How group-relative advantages are scaled (TRL's `scale_rewards`).
public enum AdvantageScaling: String, Sendable, CaseIterable {
    /// (r − group mean) / (group std + eps): GRPO and DAPO.
    case group
    /// (r − group mean) / (std over the whole batch + eps).
    case batch
    /// r − group mean (Dr. GRPO).
    case none
}

/// Group-relative advantages: one scalar per completion from its group's rewards.
///
/// Standard deviations use Bessel's correction (N − 1); a group with fewer than two defined
/// rewards has std 0. A completion whose reward is undefined (nil) gets advantage 0 and is
/// left out of the statistics.
public enum GroupAdvantages {
    public static func compute(_ groups: [[Double?]], scaling: AdvantageScaling = .group, eps: Double = 1e-6) -> [[Double]] {
        func stats(_ values: [Double]) -> (mean: Double, std: Double) {
            guard !values.isEmpty else { return (0, 0) }
            let mean = values.reduce(0, +) / Double(values.count)
            guard values.count > 1 else { return (mean, 0) }
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
            return (mean, variance.squareRoot())
        }
        let batchStd = stats(groups.flatMap { $0.compactMap { $0 } }).std
        return groups.map { group in
            let (mean, std) = stats(group.compactMap { $0 })
            return group.map { reward in
                guard let reward else { return 0 }
                switch scaling {
                case .group: return (reward - mean) / (std + eps)
                case .batch: return (reward - mean) / (batchStd + eps)
                case .none: return reward - mean
                }
            }
        }
    }

    /// True when every defined reward of the group is the same (no learning signal; DAPO's
    /// dynamic sampling drops such groups).
    public static func hasZeroSpread(_ group: [Double?]) -> Bool {
        let values = group.compactMap { $0 }
        guard let first = values.first else { return true }
        return values.allSatisfy { Swift.abs($0 - first) < 1e-12 }
    }
}

import Foundation

/// Two-sided paired significance tests over per-question scores (the paper compares methods
/// question by question with Bonferroni correction).
public enum PairedTests {
    /// Paired t-test: p-value of mean(a − b) ≠ 0 (Student t with n − 1 degrees of freedom).
    /// nil with fewer than two pairs; 1 when all differences are equal to zero, 0 when they
    /// are all equal and non-zero (no variance).
    public static func tTest(_ a: [Double], _ b: [Double]) -> Double? {
        let d = zip(a, b).map { $0 - $1 }
        let n = Double(d.count)
        guard d.count >= 2 else { return nil }
        let mean = d.reduce(0, +) / n
        let variance = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        guard variance > 0 else { return mean == 0 ? 1 : 0 }
        let t = mean / (variance / n).squareRoot()
        let df = n - 1
        // Two-sided p = I_{df/(df+t²)}(df/2, 1/2).
        return regularizedIncompleteBeta(df / (df + t * t), a: df / 2, b: 0.5)
    }

    /// Wilcoxon signed-rank test as scipy.stats.wilcoxon does by default: zero differences
    /// dropped; the exact null distribution of the smaller rank sum when n ≤ 50 and there are
    /// neither ties nor zero differences, otherwise the normal approximation with the
    /// tie-corrected variance (no continuity correction). nil when no non-zero difference remains.
    public static func wilcoxon(_ a: [Double], _ b: [Double]) -> Double? {
        let all = zip(a, b).map { $0 - $1 }
        let hadZeros = all.contains(0)
        let d = all.filter { $0 != 0 }
        let n = d.count
        guard n > 0 else { return nil }
        // Average ranks of |d|.
        let order = d.indices.sorted { Swift.abs(d[$0]) < Swift.abs(d[$1]) }
        var ranks = [Double](repeating: 0, count: n)
        var tieGroups: [Int] = []
        var i = 0
        while i < n {
            var j = i
            while j + 1 < n && Swift.abs(d[order[j + 1]]) == Swift.abs(d[order[i]]) { j += 1 }
            let rank = Double(i + j + 2) / 2
            for k in i...j { ranks[order[k]] = rank }
            tieGroups.append(j - i + 1)
            i = j + 1
        }
        let plus = d.indices.filter { d[$0] > 0 }.reduce(0) { $0 + ranks[$1] }
        let minus = d.indices.filter { d[$0] < 0 }.reduce(0) { $0 + ranks[$1] }
        let statistic = min(plus, minus)
        let ties = tieGroups.contains { $0 > 1 }
        if n <= 50 && !ties && !hadZeros {
            // counts[s] = number of sign assignments with positive-rank sum s.
            let total = n * (n + 1) / 2
            var counts = [Double](repeating: 0, count: total + 1)
            counts[0] = 1
            for r in 1...n {
                for s in stride(from: total, through: r, by: -1) { counts[s] += counts[s - r] }
            }
            let all = pow(2.0, Double(n))
            let cdf = counts[0...Int(statistic)].reduce(0, +) / all
            return min(1, 2 * cdf)
        }
        let nn = Double(n)
        let pairs: Double = nn * (nn + 1)
        let mean: Double = pairs / 4
        let twoNPlusOne: Double = 2 * nn + 1
        var variance: Double = pairs * twoNPlusOne / 24
        var tieTerm = 0.0
        for t in tieGroups { tieTerm += Double(t * t * t - t) }
        variance -= tieTerm / 48
        guard variance > 0 else { return 1 }
        let z = (statistic - mean) / variance.squareRoot()
        return min(1, erfc(Swift.abs(z) / 2.0.squareRoot()))
    }

    /// I_x(a, b) by Lentz's continued fraction (Numerical Recipes' betacf).
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = Foundation.lgamma(a + b) - Foundation.lgamma(a) - Foundation.lgamma(b)
        let logPowers: Double = a * Foundation.log(x) + b * Foundation.log(1 - x)
        let front: Double = Foundation.exp(logGammas + logPowers)
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a, b) / a }
        return 1 - front * continuedFraction(1 - x, b, a) / b
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if Swift.abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let mm = Double(m)
            var numerator = mm * (b - mm) * x / ((a + 2 * mm - 1) * (a + 2 * mm))
            d = 1 + numerator * d
            if Swift.abs(d) < tiny { d = tiny }
            c = 1 + numerator / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            numerator = -(a + mm) * (a + b + mm) * x / ((a + 2 * mm) * (a + 2 * mm + 1))
            d = 1 + numerator * d
            if Swift.abs(d) < tiny { d = tiny }
            c = 1 + numerator / c
            if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if Swift.abs(step - 1) < 1e-15 { break }
        }
        return h
    }
}

/// Prompts fed to a generation run in one step, prefilled together while the running rows go
/// on decoding; they take batch rows when their prefill is complete.
struct JoiningPrompts {
    var prefill: StagedPrefill
    /// Their numbers in the run, in order (the prompts with something to generate).
    let numbers: [Int]
}

/// How many columns each joining group's prefill runs in one decoding step.
///
/// Without a budget (chunking off, or no row decoding: nothing to stall) every group runs
/// whole. With a budget of `tokens` (prompt rows × columns) per step, shortest work first, so
/// that a short request does not wait behind long prompts (its time to first token is what a
/// client feels) — but the oldest group always gets a quarter of the budget, so a stream of
/// short requests cannot starve a long one. A group's share is rounded as `prefillColumns`
/// rounds it (`runs(asked:remaining:)`).
enum PrefillSchedule {
    /// Columns per group (same order as `groups`: rows and remaining columns), 0 for a group
    /// that waits this step.
    static func columns(groups: [(rows: Int, remaining: Int)], budget: Int?) -> [Int] {
        guard let budget else { return groups.map(\.remaining) }
        var columns = [Int](repeating: 0, count: groups.count)
        guard !groups.isEmpty else { return columns }
        var left = budget
        func give(_ i: Int, upTo tokens: Int) {
            let asked = min(groups[i].remaining - columns[i], tokens / groups[i].rows)
            guard asked > 0 || (i == 0 && columns[0] == 0) else { return }
            let total = runs(asked: columns[i] + max(asked, 1), remaining: groups[i].remaining)
            left -= (total - columns[i]) * groups[i].rows
            columns[i] = total
        }
        give(0, upTo: max(budget / 4, 1))
        let byWork = groups.indices.dropFirst().sorted { groups[$0].rows * groups[$0].remaining < groups[$1].rows * groups[$1].remaining }
        for i in byWork where left > 0 { give(i, upTo: left) }
        if left > 0 { give(0, upTo: left) }
        return columns
    }

    /// The columns `prefillColumns` runs when asked for `asked` of `remaining`: at least 2
    /// (a lone column of left padding would attend to nothing), and never leaving one behind.
    static func runs(asked: Int, remaining: Int) -> Int {
        guard asked > 0 else { return 0 }
        var take = min(remaining, max(asked, 2))
        if remaining - take == 1 { take += 1 }
        return take
    }
}

import Synchronization

/// Judge calls of a round started group by group while the round still generates: when a
/// question's G rollouts have all finished, their answers go to the judge at once instead of
/// after the slowest rollout of the round (`rollout.overlap_judging`).
public final class GroupJudging: Sendable {
    private let tasks = Mutex<[Int: Task<[Double], Error>]>([:])

    public init() {}

    /// Starts the judge calls of a group (by its question's index in the round).
    public func start(group: Int, _ work: @escaping @Sendable () async throws -> [Double]) {
        let task = Task { try await work() }
        tasks.withLock { $0[group] = task }
    }

    /// The scores of a group's judge calls; nil when none were started for it.
    public func scores(group: Int) async throws -> [Double]? {
        guard let task = tasks.withLock({ $0[group] }) else { return nil }
        return try await task.value
    }

    /// Stops what is still running (the round failed).
    public func cancelAll() {
        for task in tasks.withLock({ Array($0.values) }) { task.cancel() }
    }
}

/// The ranks of a job as the run driver needs them: rank 0 writes the run folder, the others
/// follow its decisions (`DataParallel` on models; `SingleRank` for one process).
public protocol JobRanks: AnyObject, Sendable {
    /// The rank that writes the run's files.
    var isMain: Bool { get }
    /// Element-wise sums over the ranks.
    func sum(_ values: [Double]) throws -> [Double]
    /// Returns when every rank is here.
    func barrier() throws
    /// `error` as this rank reports it (a failed collective: which ranks are gone, at `step`).
    func explained(_ error: any Error, step: Int) -> any Error
}

/// One process: every call is the identity.
public final class SingleRank: JobRanks {
    public static let shared = SingleRank()
    public var isMain: Bool { true }
    public func sum(_ values: [Double]) throws -> [Double] { values }
    public func barrier() throws {}
    public func explained(_ error: any Error, step: Int) -> any Error { error }
}

/// A trainer `TrainingRun` drives (`iap train`, `iap sft`): steps, checkpoints, resumption.
public protocol CheckpointedTrainer: AnyObject {
    /// Completed optimizer steps, and how many the run has.
    var step: Int { get }
    var totalSteps: Int { get }
    /// Work before the first step (SFT: the silver labels); resumable.
    func prepare() async throws
    /// One optimizer step; its metrics line.
    func trainStep() async throws -> MetricsLine
    /// Called on every rank; rank 0 writes the checkpoint folder.
    func saveCheckpoint() throws
    func restore(from folder: String) throws
    /// The job's ranks: rank 0 writes the run folder; the others follow its decisions.
    var ranks: any JobRanks { get }
}

extension CheckpointedTrainer {
    public var ranks: any JobRanks { SingleRank.shared }
}

import IAPCore
import Torch

/// The optimizer files of the strategies: whole state (`single`, `ddp`) or one shard per rank
/// (`zero2`, `fsdp`), saved and restored.
extension OptimizerCheckpoint {
    /// Every rank when a checkpoint is due: writes its shard into the run's staging folder and
    /// waits for the others; what rank 0 puts in the checkpoint, nil on the other ranks.
    static func stageShard(_ sharded: ShardedAdamW, ranks: DataParallel, run: RunFolder) throws -> TrainingCheckpoint.OptimizerFiles? {
        let staging = run.path + "/.optimizer-shards"
        try writeShard(sharded, into: staging)
        try ranks.barrier()
        return ranks.isMain ? .shards(sharded, staging: staging) : nil
    }

    /// The folder's optimizer state into the whole optimizer.
    static func restoreWhole(_ adamW: AdamW, from folder: String) throws {
        let (tensors, optimizerStep) = try read(folder)
        try adamW.loadState(tensors: tensors, step: optimizerStep)
    }

    /// This rank's shard of the folder's optimizer state: only its own elements are read from
    /// the mapped files (written by any number of ranks, or whole).
    static func restoreShard(_ sharded: ShardedAdamW, from folder: String) throws {
        let state = try StateSlices(folder: folder)
        try state.check(against: sharded.parameters, folder: folder)
        try sharded.loadState(step: state.step) { key, range throws(TorchError) in try state.slice(key, range) }
    }
}

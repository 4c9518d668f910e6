import IAPCore
import Torch
import Transformers

/// One micro-batch of the policy update: either one prompt and its group's completions
/// (`optim.share_prompt`: the prompt is computed once) or whole right-padded sequences.
struct PolicyBatch {
    /// The shared prompt [P]; then `ids` are completions [n, C] and index t scores
    /// completion token t. nil: `ids` are whole sequences [n, T], index t scores token t + 1.
    let prefix: Tensor?
    let ids: Tensor
    let valid: Tensor
    /// 1 on the completion tokens the loss covers, in log-prob coordinates.
    let completion: Tensor
    let advantages: Tensor
    /// Log-probs before the update (μ > 1) and under the reference policy (β > 0).
    var old: Tensor?
    var reference: Tensor?
}

extension IAPTrainer {
    /// `body` under `optim.autocast`. One region per pass over the micro-batches, never
    /// around an optimizer step: autocast keeps its reduced-precision copy of each float32
    /// weight until the outermost region ends, so a later pass in the same region would run
    /// on the weights as they were before the step.
    func autocast<R>(_ body: () throws -> R) throws -> R {
        try withAutocast(config.autocastDType, device: parts.policy.device, body)
    }

    /// μ policy updates over the kept rollouts, gradients accumulated over micro-batches;
    /// the forward and backward passes under `optim.autocast`. Under `fsdp` the policy's
    /// weights are freed again afterwards, whatever happened.
    func updatePolicy(_ rollouts: [Rollout]) throws -> UpdateStats {
        do {
            let stats = try updatePolicyPasses(rollouts)
            try strategy.endUpdate()
            return stats
        } catch {
            try? strategy.endUpdate()
            throw error
        }
    }

    func updatePolicyPasses(_ rollouts: [Rollout]) throws -> UpdateStats {
        var stats = UpdateStats()
        stats.learningRate = schedule.rate(at: step)
        // The loss is a mean over the tokens (or sequences) of every rank's rollouts.
        var (batches, localTokens) = try microBatches(rollouts)
        let everywhere = try dataParallel.sum([localTokens, Double(rollouts.count)])
        let (tokens, sequences) = (everywhere[0], everywhere[1])
        stats.learnedTokens = tokens
        // No rollout kept (every group had zero spread), or every kept token masked (all
        // truncated with dapo.mask_truncated): nothing to learn from; logged as null.
        guard tokens > 0 else { return skipped(stats) }
        batches = try lockStepped(batches)
        let updates = config.optim.updatesPerBatch
        try strategy.beginUpdate(reference: loss.klCoefficient != 0)
        try autocast {
            try withNoGrad {
                for i in batches.indices {
                    if updates > 1 { batches[i].old = try logProbs(parts.policy, batches[i], pass: trainingPass).logProbs }
                    if loss.klCoefficient != 0 {
                        batches[i].reference = try logProbs(parts.reference, batches[i], pass: TrainingPass()).logProbs
                    }
                }
            }
        }
        optimizer.learningRate = stats.learningRate
        var entropySum = 0.0
        for _ in 0..<updates {
            try optimizer.zeroGrad()
            try strategy.beginAccumulation()
            let local = try autocast { try accumulateGradients(batches, tokens: tokens, sequences: sequences, entropy: &entropySum) }
            // Every rank learns whether any loss was non-finite, and the gradients are summed.
            let sums = try sumOverRanks(local)
            let parameters = parts.policy.parameters.map(\.tensor)
            let maxNorm = config.optim.maxGradNorm
            let norm =
                try sums == nil
                ? clipGradientNorm(parameters, maxNorm: maxNorm)
                : strategy.reduceAndClip(parameters, maxNorm: maxNorm)
            stats.gradNorm = norm
            guard let sums, norm.isFinite else {
                // A non-finite loss or gradient: drop this update, weights untouched.
                if sums == nil { try strategy.dropPendingSums() }
                stats.skipped = true
                try optimizer.zeroGrad()
                break
            }
            try optimizer.step()
            stats.loss = sums.loss
            stats.kl = sums.active > 0 ? sums.kl / sums.active : 0
            stats.clipLow = sums.active > 0 ? sums.clipLow / sums.active : 0
            stats.clipHigh = sums.active > 0 ? sums.clipHigh / sums.active : 0
        }
        stats.entropy = try dataParallel.sum([entropySum])[0] / (tokens * Double(updates))
        return stats
    }

    func skipped(_ stats: UpdateStats) -> UpdateStats {
        var s = stats
        s.skipped = true
        return s
    }

    /// Token-weighted sums of one pass over the micro-batches (loss, KL, clip fractions).
    struct LossSums {
        var loss = 0.0, kl = 0.0, clipLow = 0.0, clipHigh = 0.0, active = 0.0
    }

    /// Forward and backward of every micro-batch; nil when a loss is not finite (the others
    /// still run: under `fsdp` each backward pass is a sequence of collectives every rank
    /// takes part in).
    func accumulateGradients(_ batches: [PolicyBatch], tokens: Double, sequences: Double, entropy: inout Double) throws -> LossSums? {
        var sums = LossSums()
        var finite = true
        for (index, batch) in batches.enumerated() {
            if index == batches.count - 1 { strategy.armGradientSum() }
            let (logp, batchEntropy) = try logProbs(parts.policy, batch, pass: trainingPass, entropy: true)
            let result = try loss(
                logProbs: logp, oldLogProbs: batch.old ?? logp.detach(), referenceLogProbs: batch.reference, advantages: batch.advantages,
                mask: batch.completion, globalTokens: tokens, globalSequences: sequences, maxLength: config.rollout.maxNewTokens)
            let value = try result.loss.item()
            if !value.isFinite { finite = false }
            try result.loss.backward()
            sums.loss += value
            sums.kl += result.meanKL * result.activeTokens
            sums.clipLow += result.clippedLow * result.activeTokens
            sums.clipHigh += result.clippedHigh * result.activeTokens
            sums.active += result.activeTokens
            if let batchEntropy { entropy += try (batchEntropy * batch.completion).sum().item() }
        }
        return finite ? sums : nil
    }

    /// `batches` and, where the strategy needs every rank to run as many passes as the others
    /// (`fsdp`, or overlapped `ddp` sums on a rank with none), micro-batches that learn nothing.
    func lockStepped(_ batches: [PolicyBatch]) throws -> [PolicyBatch] {
        let runs = try strategy.lockStepBatchCount(batches.count)
        guard batches.count < runs else { return batches }
        return batches + [PolicyBatch](repeating: try idleBatch(), count: runs - batches.count)
    }

    /// The loss sums of every rank added up; nil on every rank when any rank's loss was not
    /// finite (so all ranks skip the same update).
    func sumOverRanks(_ local: LossSums?) throws -> LossSums? {
        guard dataParallel.group != nil else { return local }
        let s = local ?? LossSums()
        let total = try dataParallel.sum([local == nil ? 1 : 0, s.loss, s.kl, s.clipLow, s.clipHigh, s.active])
        guard total[0] == 0 else { return nil }
        return LossSums(loss: total[1], kl: total[2], clipLow: total[3], clipHigh: total[4], active: total[5])
    }

    /// A micro-batch that learns nothing: a one-token completion with no loss weight.
    func idleBatch() throws -> PolicyBatch {
        let device = parts.policy.device
        let share = config.optim.sharePrompt
        return PolicyBatch(
            prefix: share ? try Tensor.zeros([1], dtype: .int64, device: device) : nil,
            ids: try Tensor.zeros([1, share ? 1 : 2], dtype: .int64, device: device),
            valid: try Tensor.ones([1, share ? 1 : 2], dtype: .bool, device: device),
            completion: try Tensor.zeros([1, 1], device: device), advantages: try Tensor.zeros([1], device: device))
    }

    /// Per-token log-probs (and entropy) of a micro-batch under `model` run as `pass` says,
    /// at the rollout temperature.
    func logProbs(_ model: CausalLM, _ batch: PolicyBatch, pass: TrainingPass, entropy: Bool = false) throws(TorchError) -> (
        logProbs: Tensor, entropy: Tensor?
    ) {
        let temperature = config.rollout.temperature
        if let prefix = batch.prefix {
            return try model.continuationLogProbs(
                prefix: prefix, continuations: batch.ids, valid: batch.valid, temperature: temperature, entropy: entropy, pass: pass)
        }
        return try model.sequenceLogProbs(ids: batch.ids, valid: batch.valid, temperature: temperature, entropy: entropy, pass: pass)
    }

    /// Consecutive rollouts, `optim.micro_batch` at a time (with shared prompts never two
    /// prompts in one), as tensors on the policy's device; and the completion tokens the
    /// loss covers in all of them.
    func microBatches(_ rollouts: [Rollout]) throws -> ([PolicyBatch], Double) {
        let micro = config.optim.microBatch
        let share = config.optim.sharePrompt
        var chunks: [[Rollout]] = []
        for r in rollouts {
            if let last = chunks.last, last.count < micro, !share || last[0].prompt == r.prompt {
                chunks[chunks.count - 1].append(r)
            } else {
                chunks.append([r])
            }
        }
        var batches: [PolicyBatch] = []
        var tokens = 0.0
        for chunk in chunks {
            let batch = try share ? sharedPromptBatch(chunk) : wholeSequenceBatch(chunk)
            tokens += try batch.completion.sum().item()
            batches.append(batch)
        }
        return (batches, tokens)
    }

    /// 1 for a completion token the loss learns from; 0 for a token the scaffold wrote (context,
    /// not a choice of the policy) and for a truncated completion with `dapo.mask_truncated`.
    func lossWeight(_ r: Rollout, token: Int) -> Float {
        if token < r.sequence.forced.count && r.sequence.forced[token] { return 0 }
        return (config.dapo.maskTruncated && r.sequence.finishReason == .length) ? 0 : 1
    }

    /// The group's prompt once, its completions right-padded: [n, C].
    func sharedPromptBatch(_ chunk: [Rollout]) throws -> PolicyBatch {
        let width = max(1, chunk.map { $0.sequence.tokens.count }.max() ?? 1)
        var ids: [Int64] = [], valid: [Bool] = [], completion: [Float] = []
        for r in chunk {
            let tokens = r.sequence.tokens
            ids += tokens.map(Int64.init) + [Int64](repeating: 0, count: width - tokens.count)
            valid += [Bool](repeating: true, count: tokens.count) + [Bool](repeating: false, count: width - tokens.count)
            completion += (0..<width).map { $0 < tokens.count ? lossWeight(r, token: $0) : 0 }
        }
        let prompt = chunk[0].prompt
        return try tensors(
            prefix: try Tensor(prompt.map(Int64.init), shape: [prompt.count]), ids: ids, valid: valid, completion: completion, chunk: chunk,
            width: width, scored: width)
    }

    /// Prompt + completion per row, right-padded: [n, T]; index t scores token t + 1.
    func wholeSequenceBatch(_ chunk: [Rollout]) throws -> PolicyBatch {
        let width = max(2, chunk.map { $0.prompt.count + $0.sequence.tokens.count }.max() ?? 2)
        var ids: [Int64] = [], valid: [Bool] = [], completion: [Float] = []
        for r in chunk {
            let sequence = r.prompt + r.sequence.tokens
            ids += sequence.map(Int64.init) + [Int64](repeating: 0, count: width - sequence.count)
            valid += [Bool](repeating: true, count: sequence.count) + [Bool](repeating: false, count: width - sequence.count)
            completion += (1..<width).map { $0 >= r.prompt.count && $0 < sequence.count ? lossWeight(r, token: $0 - r.prompt.count) : 0 }
        }
        return try tensors(prefix: nil, ids: ids, valid: valid, completion: completion, chunk: chunk, width: width, scored: width - 1)
    }

    /// The host arrays as tensors where the policy lives.
    func tensors(prefix: Tensor?, ids: [Int64], valid: [Bool], completion: [Float], chunk: [Rollout], width: Int, scored: Int) throws
        -> PolicyBatch
    {
        let device = parts.policy.device
        return PolicyBatch(
            prefix: try prefix?.to(device), ids: try Tensor(ids, shape: [chunk.count, width]).to(device),
            valid: try Tensor(valid, shape: [chunk.count, width]).to(device),
            completion: try Tensor(completion, shape: [chunk.count, scored]).to(device),
            advantages: try Tensor(chunk.map { Float($0.advantage) }).to(device))
    }
}

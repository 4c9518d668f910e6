import FileIO
import Foundation
import IAPCore
import JSONFiles
import Testing
import Torch

@testable import IAP

/// Issue 14 item 1 at the trainer: scaffolded rollouts parse as the four-block format, the
/// tokens the sampler wrote are left out of the loss, a budget-ended block is recorded, and
/// a checkpoint says how its policy answers.
@Suite(.serialized) struct ScaffoldedTrainingTests {
    @Test func writtenTokensAreContextAndCheckpointsRecordTheScaffold() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-scaffold-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let trainer = try ResumeTests.trainer(
            folder: base, dtype: .float32,
            overrides: [
                "rollout.scaffold=tags", "rollout.block_budgets=[4, 6, 3, 8]", "rollout.max_new_tokens=60", "run.log_rollouts=3",
            ])
        let (groups, _) = try await trainer.sampleGroups()
        let rollouts = groups.all
        #expect(rollouts.count == 3)
        for r in rollouts {
            #expect(r.parsed.isValid, "\(r.parsed.problem ?? "") in \(r.sequence.text)")
            #expect(r.sequence.forced.count == r.sequence.tokens.count && r.sequence.forced.contains(true))
        }
        // The loss covers exactly the sampled tokens: the written ones are masked.
        let (batches, tokens) = try trainer.microBatches(rollouts)
        let sampled = rollouts.map { r in r.sequence.forced.filter { !$0 }.count }.reduce(0, +)
        #expect(Int(tokens) == sampled && batches.count == 1)
        let first = rollouts[0]
        let mask = try batches[0].completion.narrow(dim: 0, start: 0, length: 1).contiguous().toArray(Float.self)
        #expect(Array(mask.prefix(first.sequence.tokens.count)) == first.sequence.forced.map { $0 ? 0 : 1 })

        _ = try await trainer.trainStep()
        let logged = try JSONLines.read(RolloutRecord.self, from: trainer.run.rolloutsPath).records
        #expect(logged.contains { $0.valid && ($0.problem ?? "").contains("ended by its") }, "budgets of 3–8 tokens end blocks")
        try trainer.saveCheckpoint()
        let saved = try #require(try RolloutFormat.saved(inModelFolder: trainer.run.checkpointPath(step: 1)))
        // The prompt the policy was trained with travels too (answer/ask use it; issue 29).
        #expect(saved == RolloutFormat(scaffold: .tags, blockBudgets: [4, 6, 3, 8], prefill: "", prompt: .standard))
        #expect(saved.blockScaffold?.blocks.map(\.opening) == ["<think>\n", "<intent>\n1.", "<think>\n", "<answer>\n"])
    }
}

/// Issue 13: rollouts decoded a bounded number of rows at a time, each group judged as soon
/// as it finishes, get exactly the rewards of judging the whole round afterwards.
@Suite(.serialized) struct OverlappedJudgingTests {
    /// Scaffolded (well-formed) rollouts; malformed ones reach the judge through the same
    /// per-group path (`judgeRequests`), scored after the group's well-formed ones.
    @Test func groupsJudgedWhileTheRoundGeneratesGetTheSameRewards() async throws {
        let format = ["rollout.scaffold=tags", "rollout.block_budgets=[2, 3, 2, 3]", "rollout.max_new_tokens=30"]
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-overlap-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        var rewards: [[Double]] = []
        for overlap in [true, false] {
            let trainer = try ResumeTests.trainer(
                folder: base + "/\(overlap)", dtype: .float32,
                overrides: format + [
                    "rollout.questions_per_step=2", "rollout.max_batch_rows=3", "rollout.overlap_judging=\(overlap)",
                ])
            let (groups, _) = try await trainer.sampleGroups()
            #expect(groups.all.count == 6)
            rewards.append(groups.all.flatMap { [$0.reward.total, $0.reward.personalization ?? -1, $0.reward.similarity ?? -1] })
        }
        #expect(rewards[0] == rewards[1])
        #expect(Set(rewards[0]).count > 2, "the rollouts' rewards differ, so an order mix-up would show")
    }
}

/// Issue 13: `optim.autocast: bfloat16` — the update's passes in mixed precision give nearly
/// the float32 gradients (same rollouts, same weights), which land on float32 weights.
@Suite(.serialized) struct AutocastTrainingTests {
    @Test func mixedPrecisionGradientsAreCloseToTheFloat32Ones() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-autocast-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let trainer = try ResumeTests.trainer(folder: base, dtype: .float32, overrides: ["dapo.kl_coef=0.01"])
        let (groups, _) = try await trainer.sampleGroups()
        var kept = groups.kept
        try trainer.assignAdvantages(&kept)
        let rollouts = kept.flatMap { $0 }
        var (batches, tokens) = try trainer.microBatches(rollouts)
        let policy = trainer.parts.policy
        try withNoGrad {
            for i in batches.indices {
                batches[i].reference = try trainer.logProbs(trainer.parts.reference, batches[i], pass: trainer.trainingPass).logProbs
            }
        }
        var norms: [Double] = []
        var entropies: [Double] = []
        for mode in [nil, DType.bfloat16] {
            for p in policy.parameters { try p.tensor.zeroGrad() }
            var entropy = 0.0
            let sums = try withAutocast(mode, device: .cpu) {
                try trainer.accumulateGradients(batches, tokens: tokens, sequences: Double(rollouts.count), entropy: &entropy)
            }
            #expect(sums != nil)
            #expect(policy.parameters.allSatisfy { $0.tensor.grad?.dtype == .float32 })
            norms.append(try clipGradientNorm(policy.parameters.map(\.tensor), maxNorm: .infinity))
            entropies.append(entropy)
        }
        #expect(norms[0] > 0 && abs(norms[1] - norms[0]) <= 0.1 * norms[0], "\(norms)")
        #expect(abs(entropies[1] - entropies[0]) <= 0.02 * abs(entropies[0]), "\(entropies)")
    }
}

/// Issue 31 item 5: Algorithm 1 draws the intent-free answer ȳ ∼ π_ref(·|x) for each question
/// in every step (`rollout.reference_answers: sampled`); `cached_greedy` reuses one greedy ȳ.
@Suite(.serialized) struct ReferenceAnswerModeTests {
    func answers(_ trainer: IAPTrainer, step: Int) async throws -> [String] {
        trainer.step = step
        let records = trainer.parts.records
        try await trainer.ensureReferenceAnswers(records, round: 0, first: 0)
        return records.map { trainer.referenceAnswers[$0.id]?.text ?? "(none)" }
    }

    @Test func sampledAnswersAreFreshEachStepAndRepeatOnResume() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iap-reference-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let sampled = ["rollout.reference_answers=sampled", "rollout.temperature=1.0"]
        let trainer = try ResumeTests.trainer(folder: base + "/a", dtype: .float32, overrides: sampled)
        let first = try await answers(trainer, step: 0)
        let second = try await answers(trainer, step: 1)
        #expect(first != second, "a fresh draw each step: \(first) vs \(second)")
        #expect(!FileManager.default.fileExists(atPath: trainer.run.referencePath), "sampled answers are not cached")
        // A resumed run (a new trainer at step 1) draws the same answers.
        let resumed = try ResumeTests.trainer(folder: base + "/b", dtype: .float32, overrides: sampled)
        #expect(try await answers(resumed, step: 1) == second)

        let cached = try ResumeTests.trainer(folder: base + "/c", dtype: .float32)
        let greedy = try await answers(cached, step: 0)
        #expect(try await answers(cached, step: 1) == greedy)
        #expect(try JSONLines.read(ReferenceAnswer.self, from: cached.run.referencePath).records.count == greedy.count)
    }
}

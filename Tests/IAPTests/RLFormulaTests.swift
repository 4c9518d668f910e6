import Foundation
import ModelFormats
import ModelStore
import Testing
import Torch
import Transformers

@testable import IAP

/// Reference values from scripts/fixtures/make_rl_fixtures.py (numpy formulas of TRL/verl/
/// DAPO, transformers' schedulers, bert_score).
nonisolated(unsafe) let rlReference: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rl/reference.json")
    return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
}()

func doubles2D(_ any: Any?) -> [[Double]] { (any as? [[Any]])?.map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } } ?? [] }

@Suite struct RLFormulaTests {
    @Test func advantagesMatchTheReference() throws {
        let section = try #require(rlReference["advantages"] as? [String: Any])
        let groups = try #require(section["groups"] as? [[Any]]).map { $0.map { ($0 as? NSNumber)?.doubleValue } }
        for case let c as [String: Any] in try #require(section["cases"] as? [Any]) {
            let scaling = try #require(AdvantageScaling(rawValue: c["scaling"] as! String))
            let eps = (c["eps"] as! NSNumber).doubleValue
            let got = GroupAdvantages.compute(groups, scaling: scaling, eps: eps)
            let want = doubles2D(c["advantages"])
            for (g, w) in zip(got, want) { for (x, y) in zip(g, w) { #expect(Swift.abs(x - y) < 1e-9, "\(scaling) \(eps)") } }
        }
        #expect(GroupAdvantages.hasZeroSpread([0.2, 0.2, nil, 0.2]) && !GroupAdvantages.hasZeroSpread([0.2, 0.3]))
    }

    /// Loss value and its gradient with respect to the policy log-probs, for every
    /// aggregation mode, with KL, without it, and with dual clipping.
    @Test func clippedLossAndGradientMatchTheReference() throws {
        let section = try #require(rlReference["policy_loss"] as? [String: Any])
        func tensor(_ key: String) throws -> Tensor {
            let rows = doubles2D(section[key])
            return try Tensor(rows.flatMap { $0 }, shape: [rows.count, rows[0].count])
        }
        let advantages = try Tensor(try #require(section["advantages"] as? [NSNumber]).map(\.doubleValue))
        let mask = try tensor("mask")
        for case let c as [String: Any] in try #require(section["cases"] as? [Any]) {
            var loss = PolicyLoss()
            loss.aggregation = try #require(LossAggregation(rawValue: c["aggregation"] as! String))
            loss.dualClip = (c["dual_clip"] as? NSNumber)?.doubleValue
            loss.klCoefficient = (c["beta"] as! NSNumber).doubleValue
            let logp = try tensor("logp").requiresGrad()
            let result = try loss(
                logProbs: logp, oldLogProbs: try tensor("old"), referenceLogProbs: try tensor("ref"), advantages: advantages, mask: mask,
                globalTokens: try mask.sum().item(), globalSequences: 3, maxLength: (section["max_length"] as! NSNumber).intValue)
            try result.loss.backward()
            let label = "\(loss.aggregation) dual \(String(describing: loss.dualClip)) β \(loss.klCoefficient)"
            #expect(Swift.abs(try result.loss.item() - (c["loss"] as! NSNumber).doubleValue) < 1e-10, "\(label)")
            let grad = try #require(logp.grad).toArray(Double.self)
            let want = doubles2D(c["grad"]).flatMap { $0 }
            #expect(zip(grad, want).allSatisfy { Swift.abs($0 - $1) < 1e-6 }, "\(label) gradient")
            if loss.klCoefficient == 0.001 && loss.aggregation == .tokenMean {
                #expect(Swift.abs(result.clippedLow - (section["clipped_low"] as! NSNumber).doubleValue) < 1e-12)
                #expect(Swift.abs(result.clippedHigh - (section["clipped_high"] as! NSNumber).doubleValue) < 1e-12)
                #expect(Swift.abs(result.meanKL - (section["mean_kl"] as! NSNumber).doubleValue) < 1e-9)
            }
        }
    }

    @Test func schedulesMatchTransformers() throws {
        for case let s as [String: Any] in try #require(rlReference["schedules"] as? [Any]) {
            let schedule = LearningRateSchedule(
                base: 1e-5, warmupRatio: (s["warmup_ratio"] as! NSNumber).doubleValue, totalSteps: (s["total"] as! NSNumber).intValue,
                shape: LearningRateSchedule.Shape(rawValue: s["shape"] as! String)!)
            let want = (s["rates"] as! [NSNumber]).map(\.doubleValue)
            for (step, rate) in want.enumerated() { #expect(Swift.abs(schedule.rate(at: step) - rate) < 1e-15, "\(schedule) step \(step)") }
        }
    }

    @Test func overlongPunishment() throws {
        for case let o as [String: Any] in try #require(rlReference["overlong"] as? [Any]) {
            let got = overlongPenalty(length: (o["length"] as! NSNumber).intValue, maxLength: 100, buffer: 20)
            #expect(Swift.abs(got - (o["penalty"] as! NSNumber).doubleValue) < 1e-12)
        }
    }

    /// Hand-computed: μ(ŷ) = 0.5, sim = 0.8, μ(ȳ) = 0.7, 450 intent tokens (50 over):
    /// contrast = 0.8 + 0.2 = 1.0; r = 0.5 − 0.1·1.0 − 0.01·50 = −0.1.
    @Test func rewardComposition() {
        let settings = RewardSettings()
        let parts = IAPReward.compose(personalization: 0.5, similarity: 0.8, referenceScore: 0.7, intentTokens: 450, completionTokens: 600, settings: settings)
        #expect(Swift.abs(parts.contrast - 1.0) < 1e-12 && parts.lengthPenalty == 50 && Swift.abs(parts.total - -0.1) < 1e-12)
        let better = IAPReward.compose(personalization: 0.9, similarity: 0.2, referenceScore: 0.7, intentTokens: 10, completionTokens: 100, settings: settings)
        #expect(Swift.abs(better.total - (0.9 - 0.1 * 0.2)) < 1e-12)
        var minimum = RewardSettings()
        minimum.malformed = .groupMinimum(margin: 0.1, fallback: -1)
        let group = IAPReward.finishGroup([parts, nil, better], completionTokens: [600, 50, 100], settings: minimum)
        #expect(!group[1].valid && Swift.abs(group[1].total - (-0.1 - 0.1)) < 1e-12)
        #expect(IAPReward.finishGroup([nil], completionTokens: [5], settings: minimum)[0].total == -1)
        #expect(IAPReward.finishGroup([nil], completionTokens: [5], settings: settings)[0].total == -1)
    }
}

@Suite struct BERTScoreTests {
    /// MiniLM layer 6 against bert_score 0.3.13, without and with idf.
    @Test func matchesBertScorePackage() throws {
        let files = try ModelFiles(path: ModelStore().resolve("all-minilm-l6-v2", pull: false).path)
        let scorer = BERTScorer(encoder: try BertEncoder.load(files), tokenizer: try files.loadTokenizer(), layer: 6)
        let section = try #require(rlReference["bertscore"] as? [String: Any])
        let candidates = section["candidates"] as! [String]
        let references = section["references"] as! [String]
        for (key, idf) in [("plain", false), ("idf", true)] {
            let want = try #require(section[key] as? [String: [NSNumber]])
            let got = try scorer.score(candidates: candidates, references: references, idf: idf)
            for i in candidates.indices {
                #expect(Swift.abs(got[i].precision - want["P"]![i].doubleValue) < 1e-5, "\(key) P \(i)")
                #expect(Swift.abs(got[i].recall - want["R"]![i].doubleValue) < 1e-5, "\(key) R \(i)")
                #expect(Swift.abs(got[i].f1 - want["F"]![i].doubleValue) < 1e-5, "\(key) F \(i)")
            }
        }
        #expect(try scorer.score(candidates: [""], references: ["something"])[0].f1 == 0)
    }
}

@Suite struct RougeLTests {
    struct Fixture: Decodable {
        struct Pair: Decodable {
            let prediction: String
            let target: String
            let f: Double
        }
        let stems: [String: String]
        let pairs: [Pair]
    }

    /// Every word of the tokenizer corpus stems as NLTK's Porter stemmer stems it, and
    /// ROUGE-L F equals rouge_score's (use_stemmer=True).
    @Test func matchesRougeScoreAndNLTK() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rl/rouge.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        var wrong: [String] = []
        for (word, stem) in fixture.stems where PorterStemmer.stem(word) != stem { wrong.append("\(word)→\(PorterStemmer.stem(word)) (want \(stem))") }
        #expect(wrong.isEmpty, "\(wrong.count) of \(fixture.stems.count): \(wrong.prefix(10))")
        for pair in fixture.pairs {
            #expect(Swift.abs(RougeL.f1(prediction: pair.prediction, target: pair.target) - pair.f) < 1e-12, "\(pair.prediction.prefix(40))")
        }
    }
}

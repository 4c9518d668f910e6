import Foundation
import Testing

@testable import IAPCore

/// Reference values from scripts/fixtures/make_rl_fixtures.py (numpy formulas of TRL/verl/
/// DAPO, transformers' schedulers, rouge_score/NLTK).
nonisolated(unsafe) let rlReference: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rl/reference.json")
    return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
}()

func doubles2D(_ any: Any?) -> [[Double]] { (any as? [[Any]])?.map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } } ?? [] }

@Suite struct RewardFormulaTests {
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

    @Test func schedulesMatchTransformers() throws {
        let all = try #require(rlReference["schedules"] as? [[String: Any]])
        #expect(Set(all.compactMap { $0["shape"] as? String }) == Set(LearningRateSchedule.Shape.allCases.map(\.rawValue)))
        for s in all {
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
        let parts = IAPReward.compose(
            personalization: 0.5, similarity: 0.8, referenceScore: 0.7, intentTokens: 450, completionTokens: 600, settings: settings)
        #expect(Swift.abs(parts.contrast - 1.0) < 1e-12 && parts.lengthPenalty == 50 && Swift.abs(parts.total - -0.1) < 1e-12)
        let better = IAPReward.compose(
            personalization: 0.9, similarity: 0.2, referenceScore: 0.7, intentTokens: 10, completionTokens: 100, settings: settings)
        #expect(Swift.abs(better.total - (0.9 - 0.1 * 0.2)) < 1e-12)
        var minimum = RewardSettings()
        minimum.malformed = .groupMinimum(margin: 0.1, fallback: -1)
        let group = IAPReward.finishGroup([parts, nil, better], completionTokens: [600, 50, 100], settings: minimum)
        #expect(!group[1].valid && Swift.abs(group[1].total - (-0.1 - 0.1)) < 1e-12)
        #expect(IAPReward.finishGroup([nil], completionTokens: [5], settings: minimum)[0].total == -1)
        #expect(IAPReward.finishGroup([nil], completionTokens: [5], settings: settings)[0].total == -1)
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
        for (word, stem) in fixture.stems where PorterStemmer.stem(word) != stem {
            wrong.append("\(word)→\(PorterStemmer.stem(word)) (want \(stem))")
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(fixture.stems.count): \(wrong.prefix(10))")
        for pair in fixture.pairs {
            #expect(
                Swift.abs(RougeL.f1(prediction: pair.prediction, target: pair.target) - pair.f) < 1e-12, "\(pair.prediction.prefix(40))")
        }
    }
}

import Foundation
import ModelFormats
import ModelStore
import Testing
import Torch
import Transformers

import IAPCore

@testable import IAP

/// Reference values from scripts/fixtures/make_rl_fixtures.py (numpy formulas of TRL/verl/
/// DAPO, transformers' schedulers, bert_score).
nonisolated(unsafe) let rlReference: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rl/reference.json")
    return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
}()

func doubles2D(_ any: Any?) -> [[Double]] { (any as? [[Any]])?.map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } } ?? [] }

@Suite struct PolicyLossTests {
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

    /// A tiny random RoBERTa with a byte-level tokenizer against bert_score 0.3.13: the ids it
    /// feeds the model (a space in front), P/R/F without and with idf, and F rescaled with a
    /// baseline file.
    @Test func robertaMatchesBertScorePackage() throws {
        struct Fixture: Decodable {
            struct Scores: Decodable { let P: [Double], R: [Double], F: [Double] }
            let candidates: [String]
            let references: [String]
            let ids: [[Int]]
            let plain: Scores
            let idf: Scores
            let rescaled: Scores
        }
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: folder.appendingPathComponent("tiny-roberta.json")))
        let files = try ModelFiles(path: folder.appendingPathComponent("tiny-roberta").path)
        let encoder = try BertEncoder.load(files)
        let tokenizer = try files.loadTokenizer()
        let scorer = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: 2)
        #expect(fixture.candidates.map(scorer.tokenIds) == fixture.ids)
        let baseline = try BERTScoreBaseline.load(folder.appendingPathComponent("tiny-roberta-baseline.csv").path, layer: 2)
        let rescaling = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: 2, baseline: baseline)
        for (label, want, got) in [
            ("plain", fixture.plain, try scorer.score(candidates: fixture.candidates, references: fixture.references)),
            ("idf", fixture.idf, try scorer.score(candidates: fixture.candidates, references: fixture.references, idf: true)),
            ("rescaled", fixture.rescaled, try rescaling.score(candidates: fixture.candidates, references: fixture.references)),
        ] {
            for i in fixture.candidates.indices {
                #expect(Swift.abs(got[i].precision - want.P[i]) < 1e-4 && Swift.abs(got[i].recall - want.R[i]) < 1e-4, "\(label) \(i)")
                #expect(Swift.abs(got[i].f1 - want.F[i]) < 1e-4, "\(label) F \(i): \(got[i].f1) vs \(want.F[i])")
            }
        }
        #expect(throws: (any Error).self) {
            try BERTScoreBaseline.load(folder.appendingPathComponent("tiny-roberta-baseline.csv").path, layer: 9)
        }
    }
}

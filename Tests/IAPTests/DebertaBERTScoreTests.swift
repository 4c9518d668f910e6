import Foundation
import ModelFormats
import Testing
import Transformers

@testable import IAP

/// The paper's BERTScore encoder shape, DeBERTa-v3 (a tiny one: spm.model, pytorch_model.bin),
/// against bert_score 0.3.13 under transformers 5 (fixture by make_deberta_fixtures.py): the
/// ids it feeds the model, P/R/F at layer 2 plain and with idf.
@Suite struct DebertaBERTScoreTests {
    struct Fixture: Decodable {
        struct Scores: Decodable { let P: [Double], R: [Double], F: [Double] }
        let candidates: [String]
        let references: [String]
        let scored_ids: [[Int]]
        let default_layer: Int
        let plain: Scores
        let idf: Scores
    }

    @Test func matchesBertScorePackage() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: folder.appendingPathComponent("tiny-deberta-v3.json")))
        let files = try ModelFiles(path: folder.appendingPathComponent("tiny-deberta-v3").path)
        // bert_score scored the five pairs as one list: matched together, padding and all.
        let scorer = BERTScorer(
            encoder: try TextEncoders.load(files), tokenizer: try files.loadTokenizer(), layer: 2, matchingBatchSize: 64)
        #expect(fixture.candidates.map(scorer.tokenIds) == fixture.scored_ids)
        // microsoft/deberta-v3-large's layer in bert_score's table, which configs/paper/ uses.
        #expect(fixture.default_layer == 12)
        for (label, want, idf) in [("plain", fixture.plain, false), ("idf", fixture.idf, true)] {
            let got = try scorer.score(candidates: fixture.candidates, references: fixture.references, idf: idf)
            for i in fixture.candidates.indices {
                #expect(Swift.abs(got[i].precision - want.P[i]) < 1e-4 && Swift.abs(got[i].recall - want.R[i]) < 1e-4, "\(label) \(i)")
                #expect(Swift.abs(got[i].f1 - want.F[i]) < 1e-4, "\(label) F \(i): \(got[i].f1) vs \(want.F[i])")
            }
        }
        // Scored pair by pair (the default), a pair's score does not depend on its neighbours:
        // "Ok." against "A short reply." is shorter than the list's longest candidate, and its
        // recall here is its own best cosines, some below 0.
        let alone = BERTScorer(encoder: scorer.encoder, tokenizer: scorer.tokenizer, layer: 2)
        let listed = try alone.score(candidates: fixture.candidates, references: fixture.references)
        for i in fixture.candidates.indices {
            let single = try alone.score(candidates: [fixture.candidates[i]], references: [fixture.references[i]])[0]
            #expect(Swift.abs(single.f1 - listed[i].f1) < 1e-6 && Swift.abs(single.recall - listed[i].recall) < 1e-6, "pair \(i)")
        }
        #expect(listed[4].recall < fixture.plain.R[4] - 1e-3)
    }
}

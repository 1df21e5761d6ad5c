import Foundation
import LMKitEmbeddings
import LMKitTensor
import Testing
import TestSupport

/// Parity with gensim 4.4.0's `KeyedVectors` on the GloVe 6B 50d vectors (golden file from
/// `Tools/golden/embeddings_gensim.py`): the same words in the same order, scores within 1e-5
/// (both sides compute in float32), and the same evaluation numbers.
@Suite struct GensimParityTests {
    /// The golden file, parsed (JSON values are not Sendable, so it is read per test).
    static func golden() -> [String: Any] {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: fixturePath("embeddings/gensim_queries.json")))) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    static let glove: WordVectors? = {
        guard TestAssets.available(.glove) else { return nil }
        let store = TestAssets.store
        return try? WordVectors(numpy: store.path(.glove, "glove_6B_50d_emb.npy"), words: store.path(.glove, "glove_6B_50d_words.txt"))
    }()

    func expectSameRanking(_ ours: [(word: String, score: Double)], _ theirs: [[Any]], _ what: String) {
        #expect(ours.map(\.word) == theirs.map { $0[0] as? String ?? "" }, "\(what)")
        for (o, t) in zip(ours, theirs) {
            #expect(Swift.abs(o.score - (t[1] as? Double ?? .nan)) < 1e-5, "\(what): \(o.word) \(o.score) vs \(t[1])")
        }
    }

    @Test func similarityMostSimilarAndAnalogies() throws {
        guard let glove = Self.glove else { return }
        let g = Self.golden()
        #expect(!g.isEmpty, "golden file missing")
        for case let item as [String: Any] in g["similarity"] as? [Any] ?? [] {
            let ours = try glove.similarity(item["a"] as! String, item["b"] as! String)
            #expect(Swift.abs(ours - (item["value"] as! Double)) < 1e-6, "similarity \(item)")
        }
        #expect(String(format: "%.4f", try glove.similarity("king", "queen")) == "0.7839")
        for case let item as [String: Any] in g["most_similar"] as? [Any] ?? [] {
            let positive = item["positive"] as! [String], negative = item["negative"] as! [String]
            let ours = try glove.mostSimilar(
                positive: positive, negative: negative, count: item["topn"] as! Int,
                restrictTo: item["restrict_vocab"] as? Int)
            expectSameRanking(ours, item["results"] as! [[Any]], "most_similar \(positive) − \(negative)")
        }
        for case let item as [String: Any] in g["most_similar_cosmul"] as? [Any] ?? [] {
            let positive = item["positive"] as! [String], negative = item["negative"] as! [String]
            let ours = try glove.mostSimilarCosMul(positive: positive, negative: negative, count: item["topn"] as! Int)
            expectSameRanking(ours, item["results"] as! [[Any]], "cosmul \(positive) − \(negative)")
        }
        for case let item as [String: Any] in g["doesnt_match"] as? [Any] ?? [] {
            #expect(try glove.doesntMatch(item["words"] as! [String]) == item["result"] as! String)
        }
        let byVector = g["similar_by_vector"] as! [String: Any]
        let v = try glove.vector("king") + glove.vector("woman") - glove.vector("man")
        expectSameRanking(glove.similar(toVector: v, count: 5), byVector["results"] as! [[Any]], "similar_by_vector")
    }

    @Test func evaluationMatchesGensim() throws {
        guard let glove = Self.glove, TestAssets.available(.gensimData) else { return }
        let g = Self.golden()
        for case let item as [String: Any] in g["evaluate_word_pairs"] as? [Any] ?? [] {
            let file = item["file"] as! String
            let ours = try glove.evaluateWordPairs(try TestAssets.store.path(.gensimData, file))
            #expect(Swift.abs(ours.pearson - (item["pearson"] as! Double)) < 1e-6, "\(file) pearson \(ours.pearson)")
            #expect(Swift.abs(ours.spearman - (item["spearman"] as! Double)) < 1e-6, "\(file) spearman \(ours.spearman)")
            #expect(Swift.abs(ours.pearsonP / (item["pearson_p"] as! Double) - 1) < 1e-4, "\(file) pearson p \(ours.pearsonP)")
            #expect(Swift.abs(ours.spearmanP / (item["spearman_p"] as! Double) - 1) < 1e-4, "\(file) spearman p \(ours.spearmanP)")
            #expect(Swift.abs(ours.oovRatio - (item["oov_ratio"] as! Double)) < 1e-9, "\(file) oov \(ours.oovRatio)")
        }
        let analogies = g["evaluate_word_analogies"] as! [String: Any]
        let ours = try glove.evaluateAnalogies(
            try TestAssets.store.path(.gensimData, "questions-words.txt"),
            restrictTo: analogies["restrict_vocab"] as! Int)
        let sections = (analogies["sections"] as! [[String: Any]]).filter { $0["section"] as? String != "Total accuracy" }
        #expect(ours.sections.map(\.section) == sections.map { $0["section"] as! String })
        for (o, t) in zip(ours.sections, sections) {
            #expect(
                o.correct == t["correct"] as! Int && o.incorrect == t["incorrect"] as! Int,
                "\(o.section): \(o.correct)/\(o.incorrect) vs \(t["correct"]!)/\(t["incorrect"]!)")
        }
        #expect(Swift.abs(ours.accuracy - (analogies["score"] as! Double)) < 1e-12)
    }

    @Test func loadsWhatGensimWrites() throws {
        let folder = fixturePath("embeddings/")
        let binary = try WordVectors(contentsOf: folder + "glove300.w2v.bin")
        let text = try WordVectors(contentsOf: folder + "glove300.w2v.txt")
        let numpy = try WordVectors(numpy: folder + "glove300.npy", words: folder + "glove300.words.txt")
        let glove = try WordVectors(contentsOf: folder + "glove300.glove.txt")
        #expect(binary.count == 300 && binary.dimension == 50)
        for other in [text, numpy, glove] { #expect(other.words == binary.words) }
        #expect(text.matrix.floats == binary.matrix.floats)
        #expect(numpy.matrix.contiguous().floats == binary.matrix.floats)
        // The GloVe text fixture was written with 6 decimals (lossy by up to 5e-7).
        #expect(compare(glove.matrix, binary.matrix, rtol: 0, atol: 1e-6).withinTolerance)
        if let full = Self.glove {
            #expect(Array(full.words.prefix(300)) == binary.words)
            #expect(full.matrix.sliced(axis: 0, range: 0..<300).contiguous().floats == binary.matrix.floats)
        }
    }
}

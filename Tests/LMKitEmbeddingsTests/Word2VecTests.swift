import Foundation
@testable import LMKitEmbeddings
import LMKitTensor
import Testing
import TestSupport

@Suite struct Word2VecTests {
    /// A corpus file with `text`, named by its content so reruns reuse it instead of piling up files.
    func corpusFile(_ text: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 1_099_511_628_211 }
        let path = NSTemporaryDirectory() + "lmkit-test-corpus-\(hash).txt"
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        }
        return path
    }

    @Test func corpusCountsOrdersAndDropsRareWords() throws {
        let path = corpusFile("the cat sat\nThe dog sat   on the mat\n\nthe end")
        let c = try TrainingCorpus(path: path, minCount: 2)
        #expect(c.words == ["the", "sat"])  // most frequent first; "The" is another word
        #expect(c.counts == [3, 2])
        #expect(c.rawTokenCount == 11)
        #expect(c.sentenceCount == 3)  // the empty line has no kept token
        let lower = try TrainingCorpus(path: path, minCount: 2, lowercase: true)
        #expect(lower.words == ["the", "sat"] && lower.counts == [4, 2])
        // The id stream: kept words only, each sentence closed by the end marker.
        let e = TrainingCorpus.sentenceEnd
        #expect(Array(c.stream) == [0, 1, e, 1, 0, e, 0, e])
        #expect(c.keptTokenCount == 5)
        #expect(throws: WordVectorsError.self) { try TrainingCorpus(path: path, minCount: 10) }
        #expect(throws: WordVectorsError.self) { try TrainingCorpus(path: corpusFile(""), minCount: 1) }
    }

    @Test func threadSharesTileTheStreamAtSentenceBoundaries() throws {
        let corpus = try TrainingCorpus(path: corpusFile(topicCorpus()), minCount: 1)
        let stream = Array(corpus.stream)
        for workers in [1, 2, 3, 7] {
            let shares = (0..<workers).map { corpus.share($0, of: workers) }
            #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == stream.count)
            for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            for share in shares where share.lowerBound > 0 { #expect(stream[share.lowerBound - 1] == TrainingCorpus.sentenceEnd) }
        }
        // Long lines are cut into sentences of at most 10,000 tokens.
        let long = try TrainingCorpus(path: corpusFile(String(repeating: "w ", count: 25_000)), minCount: 1)
        #expect(long.sentenceCount == 3 && long.keptTokenCount == 25_000)
    }

    @Test func samplingTablesFollowGensim() {
        // Negative samples: frequencies ∝ count^0.75 (counts 16, 1, 81 → weights 8, 1, 27).
        let state = SharedState(syn0: .allocate(capacity: 1), syn1: .allocate(capacity: 1), counts: [16, 1, 81], keep: [1, 1, 1])
        var random: UInt64 = 1
        var seen = [0, 0, 0]
        for _ in 0..<360_000 { seen[state.sample(&random)] += 1 }
        for (i, weight) in [8.0, 1, 27].enumerated() {
            #expect(Swift.abs(Double(seen[i]) / 360_000 - weight / 36) < 0.005, "word \(i): \(seen[i])")
        }
        #expect(state.logistic(0) == 0.5 && state.logistic(6) == nil && state.logistic(-7) == nil)
        #expect(Swift.abs(state.logistic(2)! - 0.8808) < 0.01)
        // Subsampling: keep probability (√(c/t) + 1)·t/c with t = sample × total, capped at 1.
        let keep = Word2Vec.keepProbabilities([1_000_000, 10], sample: 1e-3)
        let t = 1e-3 * 1_000_010
        #expect(Swift.abs(Double(keep[0]) - ((1_000_000 / t).squareRoot() + 1) * t / 1_000_000) < 1e-6)
        #expect(keep[1] == 1)
    }

    /// Two topics whose words never share a sentence: vectors must separate them.
    func topicCorpus() -> String {
        var g = RandomGenerator(seed: 3)
        var lines: [String] = []
        for _ in 0..<1500 {
            let topic = g.next() % 2 == 0 ? "a" : "b"
            lines.append((0..<8).map { _ in "\(topic)\(g.next() % 6)" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: Word2Vec.Method.allCases)
    func learnsWhichWordsShareContexts(_ method: Word2Vec.Method) throws {
        let corpus = try TrainingCorpus(path: corpusFile(topicCorpus()), minCount: 1)
        var w2v = Word2Vec()
        w2v.method = method
        w2v.dimension = 16
        w2v.epochs = 3
        w2v.sample = 0
        w2v.threads = 2
        let v = w2v.train(corpus)
        #expect(v.count == 12 && v.dimension == 16)
        var within = 0.0, across = 0.0
        for i in 0..<6 {
            within += try v.similarity("a\(i)", "a\((i + 1) % 6)") + v.similarity("b\(i)", "b\((i + 1) % 6)")
            across += try v.similarity("a\(i)", "b\(i)") * 2
        }
        #expect(within / 12 > across / 12 + 0.3, "\(method): within-topic \(within / 12), across \(across / 12)")
    }

    @Test func oneThreadWithASeedIsReproducible() throws {
        let corpus = try TrainingCorpus(path: corpusFile(topicCorpus()), minCount: 1)
        var w2v = Word2Vec()
        w2v.dimension = 8
        w2v.epochs = 1
        w2v.threads = 1
        #expect(w2v.train(corpus).matrix.floats == w2v.train(corpus).matrix.floats)
        w2v.seed = 2
        let other = w2v.train(corpus).matrix.floats
        w2v.seed = 1
        #expect(other != w2v.train(corpus).matrix.floats)
    }
}

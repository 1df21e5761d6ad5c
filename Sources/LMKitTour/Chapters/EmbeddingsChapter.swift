#if canImport(Glibc)
    import Glibc
#endif
import LMKitAssets
import LMKitEmbeddings
import LMKitPlot
import LMKitTensor

/// Word embeddings: words as vectors whose geometry carries meaning (GloVe 6B, 50 dimensions).
struct EmbeddingsChapter: TourChapter {
    let name = "embeddings"
    let title = "Word embeddings: meaning as geometry (GloVe)"

    func run(_ c: TourContext) throws -> [String: Double] {
        c.say(
            """
            A word embedding gives every word a vector, learned so that words used in similar contexts get
            similar vectors. We load GloVe (Pennington et al. 2014): 400,000 words, 50 numbers each, trained
            on 6 billion tokens of Wikipedia and news. Similarity is the cosine of the angle between vectors.
            """)
        guard c.assets.isPresent(.glove) else {
            c.say("  (skipped: GloVe is not in \(c.assets.root); run `scripts/fetch-assets --only glove,gensim-data`)")
            return [:]
        }
        let glove = try WordVectors(
            numpy: try c.assets.path(.glove, "glove_6B_50d_emb.npy"),
            words: try c.assets.path(.glove, "glove_6B_50d_words.txt"))
        var results: [String: Double] = [:]
        let kq = try glove.similarity("king", "queen")
        results["similarity_king_queen"] = kq
        c.say(
            "  cos(king, queen) = \(Format.fixed(kq, 4))   cos(king, banana) = \(Format.fixed(try glove.similarity("king", "banana"), 4))")
        c.say("\nNearest neighbours are one matrix-vector product over all 400,000 words:")
        for word in ["frog", "computer", "einstein"] {
            let near = try glove.mostSimilar(positive: [word], count: 5).map(\.word).joined(separator: ", ")
            c.say("  \(word.padding(toLength: 9)) → \(near)")
        }
        c.say(
            """

            Directions carry relations. king − man + woman lands near queen: the offset from man to woman is
            roughly the offset from king to queen (the "3CosAdd" analogy method).
            """)
        for (a, b, d) in [("king", "man", "woman"), ("paris", "france", "germany"), ("walking", "walked", "swam")] {
            let best = try glove.mostSimilar(positive: [a, d], negative: [b], count: 1)[0]
            c.say("  \(a) − \(b) + \(d) ≈ \(best.word) (\(Format.fixed(best.score, 3)))")
        }
        let odd = try glove.doesntMatch(["breakfast", "cereal", "dinner", "lunch"])
        c.say("  odd one out of breakfast, cereal, dinner, lunch: \(odd)")
        if c.assets.isPresent(.gensimData) {
            c.say("\nHow good are they? The standard tests, scored as gensim scores them:")
            let ws = try glove.evaluateWordPairs(try c.assets.path(.gensimData, "wordsim353.tsv"))
            let an = try glove.evaluateAnalogies(try c.assets.path(.gensimData, "questions-words.txt"))
            c.say("  WordSim-353: Spearman \(Format.fixed(ws.spearman, 3)) with human similarity judgements")
            c.say(
                "  Google analogies: \(Format.fixed(an.accuracy * 100, 1))% right (\(an.correct) of \(an.correct + an.incorrect), top 30,000 words)"
            )
            results["wordsim353_spearman"] = ws.spearman
            results["analogy_accuracy"] = an.accuracy
        }
        try picture(glove, c)
        results.merge(try trainOwn(c)) { $1 }
        c.say(
            """

            Fifty numbers per word capture a lot, but one vector per word cannot tell "bank" (river) from
            "bank" (money): the later chapters build vectors from the context around each word.
            """)
        return results
    }
}

extension EmbeddingsChapter {
    /// A PCA picture of gendered word pairs: the offsets man→woman, king→queen… run parallel.
    func picture(_ glove: WordVectors, _ c: TourContext) throws {
        let words = ["man", "woman", "king", "queen", "uncle", "aunt", "prince", "princess", "boy", "girl"]
        let (points, explained) = try glove.principalComponents(of: words)
        let plot = ScatterPlot(
            title: "GloVe: gendered pairs, first two principal components",
            xLabel: "PC 1 (\(Int((explained.0 * 100).rounded()))%)", yLabel: "PC 2 (\(Int((explained.1 * 100).rounded()))%)",
            points: zip(words, points).enumerated().map { .init(x: $1.1.x, y: $1.1.y, label: $1.0, group: $0 % 2) },
            segments: stride(from: 0, to: words.count, by: 2).map { ($0, $0 + 1) })
        let folder = c.assets.root + "/tour"
        mkdir(folder, 0o755)
        let path = folder + "/gendered-pairs.svg"
        try AtomicFile.write(Array(plot.svg().utf8), to: path)
        c.say("\nA picture (PCA to 2-D; the man→woman offsets run parallel): \(path)")
    }

    /// word2vec CBOW trained live on Shakespeare: the vectors learn Shakespeare's world.
    func trainOwn(_ c: TourContext) throws -> [String: Double] {
        guard c.assets.isPresent(.shakespeare) else { return [:] }
        c.say(
            """

            Now train our own: word2vec (CBOW, Mikolov et al. 2013) on the complete works of Shakespeare,
            lower-cased, letters only. Each word learns to predict itself from the words around it, with
            5 random "negative" words to push away; one pass over 900,000 words takes seconds.
            """)
        let text = try readBytes(try c.assets.path(.shakespeare))
        let cleaned = text.map { b -> UInt8 in
            switch b {
            case 65...90: return b + 32  // A-Z → a-z
            case 97...122, 39, 10: return b  // letters, apostrophes, line ends
            default: return 32
            }
        }
        let path = c.assets.root + "/tour/shakespeare-words.txt"
        try AtomicFile.write(cleaned, to: path)
        let corpus = try TrainingCorpus(path: path, minCount: 5)
        var w2v = Word2Vec()
        w2v.method = .cbow
        w2v.dimension = 50
        w2v.epochs = 2
        w2v.seed = c.seed
        let vectors = w2v.train(corpus)
        c.say("  \(corpus.rawTokenCount) words, \(vectors.count) kept (5+ occurrences); nearest neighbours in Shakespeare's vectors:")
        for word in ["king", "love", "sword", "night"] where vectors.contains(word) {
            let near = try vectors.mostSimilar(positive: [word], count: 5).map(\.word).joined(separator: ", ")
            c.say("  \(word.padding(toLength: 6)) → \(near)")
        }
        return ["shakespeare_vocabulary": Double(vectors.count)]
    }
}

extension String {
    func padding(toLength width: Int) -> String { self + String(repeating: " ", count: Swift.max(0, width - count)) }
}

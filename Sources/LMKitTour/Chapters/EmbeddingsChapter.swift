import LMKitAssets
import LMKitEmbeddings
import LMKitTensor

/// Word embeddings: words as vectors whose geometry carries meaning (GloVe 6B, 50 dimensions).
struct EmbeddingsChapter: TourChapter {
    let name = "embeddings"
    let title = "Word embeddings: meaning as geometry (GloVe)"

    func run(_ c: TourContext) throws -> [String: Double] {
        c.say("""
        A word embedding gives every word a vector, learned so that words used in similar contexts get
        similar vectors. We load GloVe (Pennington et al. 2014): 400,000 words, 50 numbers each, trained
        on 6 billion tokens of Wikipedia and news. Similarity is the cosine of the angle between vectors.
        """)
        guard c.assets.isPresent(.glove) else {
            c.say("  (skipped: GloVe is not in \(c.assets.root); run `scripts/fetch-assets --only glove,gensim-data`)")
            return [:]
        }
        let glove = try WordVectors(numpy: try c.assets.path(.glove, "glove_6B_50d_emb.npy"),
                                    words: try c.assets.path(.glove, "glove_6B_50d_words.txt"))
        var results: [String: Double] = [:]
        let kq = try glove.similarity("king", "queen")
        results["similarity_king_queen"] = kq
        c.say("  cos(king, queen) = \(Format.fixed(kq, 4))   cos(king, banana) = \(Format.fixed(try glove.similarity("king", "banana"), 4))")
        c.say("\nNearest neighbours are one matrix-vector product over all 400,000 words:")
        for word in ["frog", "computer", "einstein"] {
            let near = try glove.mostSimilar(positive: [word], count: 5).map(\.word).joined(separator: ", ")
            c.say("  \(word.padding(toLength: 9)) → \(near)")
        }
        c.say("""

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
            c.say("  Google analogies: \(Format.fixed(an.accuracy * 100, 1))% right (\(an.correct) of \(an.correct + an.incorrect), top 30,000 words)")
            results["wordsim353_spearman"] = ws.spearman
            results["analogy_accuracy"] = an.accuracy
        }
        c.say("""

        Fifty numbers per word capture a lot, but one vector per word cannot tell "bank" (river) from
        "bank" (money): the later chapters build vectors from the context around each word.
        """)
        return results
    }
}

extension String {
    func padding(toLength width: Int) -> String { self + String(repeating: " ", count: Swift.max(0, width - count)) }
}

#if canImport(Glibc)
    import Glibc
#endif
import LMKitTensor

/// Intrinsic evaluation, reported as gensim reports it (`evaluate_word_pairs`, `evaluate_word_analogies`).
extension WordVectors {
    /// Correlation between human similarity judgements and the vectors' cosines.
    public struct WordPairScore: Codable, Sendable {
        /// Path of the word-similarity file evaluated.
        public let file: String
        /// Pearson's r between the human scores and the cosines, with its two-sided p-value.
        public let pearson: Double, pearsonP: Double
        /// Spearman's ρ between the human scores and the cosines, with its two-sided p-value.
        public let spearman: Double, spearmanP: Double
        /// Pairs skipped because a word is out of the (restricted) vocabulary, in percent.
        public let oovRatio: Double
        /// Pairs scored, and pairs skipped because a word is out of the vocabulary.
        public let pairs: Int, oov: Int
    }

    /// Accuracy on an analogy set (`: section` lines, then `a b c expected`).
    public struct AnalogyScore: Codable, Sendable {
        /// The result on one `: section` of the file (e.g. `capital-common-countries`).
        public struct Section: Codable, Sendable {
            /// The section's name, from its `: name` line.
            public let section: String
            /// Questions in the section answered right and wrong (out-of-vocabulary questions are in neither).
            public let correct: Int, incorrect: Int
            /// correct / (correct + incorrect), in 0…1; 0 when no question was answered.
            public var accuracy: Double { correct + incorrect == 0 ? 0 : Double(correct) / Double(correct + incorrect) }
        }
        /// Path of the analogy file evaluated.
        public let file: String
        /// How many of the most frequent words were used, for questions and answers (gensim's `restrict_vocab`).
        public let restrictVocab: Int
        /// Per-section results, in file order.
        public let sections: [Section]
        /// Questions answered right and wrong over all sections.
        public let correct: Int, incorrect: Int
        /// Questions skipped because a word is outside the restricted vocabulary, in percent.
        public let oovRatio: Double
        /// Overall correct / (correct + incorrect), in 0…1; 0 when no question was answered.
        public var accuracy: Double { correct + incorrect == 0 ? 0 : Double(correct) / Double(correct + incorrect) }
    }

    /// The first `limit` words, keyed case-insensitively (upper case) when asked: the most frequent
    /// spelling wins, as gensim builds `ok_vocab`.
    func restrictedVocabulary(_ limit: Int, caseInsensitive: Bool) -> [String: Int] {
        var vocabulary: [String: Int] = [:]
        for i in stride(from: min(limit, count) - 1, through: 0, by: -1) {
            vocabulary[caseInsensitive ? words[i].uppercased() : words[i]] = i
        }
        return vocabulary
    }

    static func readLines(_ path: String) throws(WordVectorsError) -> [Substring] {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw WordVectorsError(path: path, problem: error.reason) }
        guard let base = file.base else { return [] }
        guard let text = String(validating: UnsafeRawBufferPointer(start: base, count: file.size), as: UTF8.self) else {
            throw WordVectorsError(path: path, problem: "not valid UTF-8 text")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Pearson and Spearman correlation of a word-similarity set (WordSim-353, SimLex-999: tab-separated
    /// `word1 word2 score`, `#` comments) with the cosines of the vectors. Defaults are gensim's.
    public func evaluateWordPairs(_ path: String, restrictTo limit: Int = 300_000, caseInsensitive: Bool = true) throws(WordVectorsError)
        -> WordPairScore
    {
        let vocabulary = restrictedVocabulary(limit, caseInsensitive: caseInsensitive)
        var gold: [Double] = [], model: [Double] = []
        var oov = 0
        for line in try Self.readLines(path) where !line.isEmpty && !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let score = Double(fields[2].trimmingWhitespace) else { continue }  // gensim skips these
            let a = caseInsensitive ? fields[0].uppercased() : String(fields[0])
            let b = caseInsensitive ? fields[1].uppercased() : String(fields[1])
            guard let i = vocabulary[a], let j = vocabulary[b] else { oov += 1; continue }
            gold.append(score)
            let u = vector(at: i, normalized: true).floats, v = vector(at: j, normalized: true).floats
            var dot: Float = 0
            for k in 0..<dimension { dot += u[k] * v[k] }
            model.append(Double(dot))
        }
        guard gold.count >= 3 else {
            throw WordVectorsError(path: path, problem: "fewer than 3 usable word pairs (\(oov) out of vocabulary)")
        }
        let pearson = Statistics.pearson(gold, model)
        let spearman = Statistics.spearman(gold, model)
        return WordPairScore(
            file: path, pearson: pearson, pearsonP: Statistics.correlationPValue(pearson, n: gold.count),
            spearman: spearman, spearmanP: Statistics.correlationPValue(spearman, n: gold.count),
            oovRatio: Double(oov) / Double(gold.count + oov) * 100, pairs: gold.count, oov: oov)
    }

    /// Accuracy on an analogy set with 3CosAdd over the `limit` most frequent words, as gensim's
    /// `evaluate_word_analogies`: the answer is the best candidate that is not one of a, b, c.
    public func evaluateAnalogies(_ path: String, restrictTo limit: Int = 30_000, caseInsensitive: Bool = true) throws(WordVectorsError)
        -> AnalogyScore
    {
        let vocabulary = restrictedVocabulary(limit, caseInsensitive: caseInsensitive)
        struct Question { let a: Int, b: Int, c: Int, expected: Int, section: Int }
        var sectionNames: [String] = []
        var questions: [Question] = []
        var total = 0, oov = 0
        for (lineNumber, line) in try Self.readLines(path).enumerated() {
            if line.hasPrefix(": ") {
                sectionNames.append(String(line.dropFirst(2)).trimmingWhitespace)
                continue
            }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 4 else { continue }  // gensim skips invalid lines
            guard !sectionNames.isEmpty else {
                throw WordVectorsError(path: path, problem: "line \(lineNumber + 1): a question before the first ': section' line")
            }
            total += 1
            let keys = parts.map { caseInsensitive ? $0.uppercased() : String($0) }
            guard let a = vocabulary[keys[0]], let b = vocabulary[keys[1]], let c = vocabulary[keys[2]], let e = vocabulary[keys[3]] else {
                oov += 1
                continue
            }
            questions.append(Question(a: a, b: b, c: c, expected: e, section: sectionNames.count - 1))
        }
        var correct = [Int](repeating: 0, count: sectionNames.count), incorrect = correct
        let n = min(limit, count)
        let candidates = matrix.sliced(axis: 0, range: 0..<n)
        let candidateNorms = norms.sliced(axis: 0, range: 0..<n).floats
        let batch = 512
        for start in stride(from: 0, to: questions.count, by: batch) {
            let chunk = questions[start..<min(start + batch, questions.count)]
            // Query vectors: unit(mean(unit(b), −unit(a), unit(c))), as most_similar(positive: [b, c], negative: [a]).
            let queries = GradMode.withoutGradient {
                Tensor.stacked(
                    chunk.map { q in
                        meanUnitVector([
                            vector(at: q.b, normalized: true), vector(at: q.c, normalized: true), vector(at: q.a, normalized: true) * -1,
                        ])
                    }, axis: 0)
            }
            let dots = GradMode.withoutGradient { queries.matmul(candidates.transposed()) }  // (Q, n)
            dots.withUnsafeScalars(Float.self) { scores in
                candidateNorms.withUnsafeBufferPointer { norm in
                    for (row, q) in chunk.enumerated() {
                        let s = scores.baseAddress! + row * n
                        // Best candidate that is not a, b or c (gensim's most_similar excludes them).
                        var best = -1
                        var bestScore = -Float.infinity
                        for j in 0..<n {
                            let v = s[j] / norm[j]
                            if v > bestScore && j != q.a && j != q.b && j != q.c { best = j; bestScore = v }
                        }
                        // Compare spellings, so a case variant of the expected word counts (as gensim does).
                        let predicted = best >= 0 ? (caseInsensitive ? words[best].uppercased() : words[best]) : ""
                        let expected = caseInsensitive ? words[q.expected].uppercased() : words[q.expected]
                        if predicted == expected { correct[q.section] += 1 } else { incorrect[q.section] += 1 }
                    }
                }
            }
        }
        let sections = sectionNames.indices.map {
            AnalogyScore.Section(section: sectionNames[$0], correct: correct[$0], incorrect: incorrect[$0])
        }
        return AnalogyScore(
            file: path, restrictVocab: limit, sections: sections,
            correct: correct.reduce(0, +), incorrect: incorrect.reduce(0, +),
            oovRatio: total == 0 ? 0 : Double(oov) / Double(total) * 100)
    }
}

/// Correlation coefficients and their two-sided p-values (Student's t with n − 2 degrees of freedom,
/// as scipy's `pearsonr` and `spearmanr` report them).
public enum Statistics {
    /// Pearson's r: the covariance of `x` and `y` over the product of their standard deviations, in −1…1.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
            syy += (y[i] - my) * (y[i] - my)
        }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Spearman's ρ: Pearson correlation of the ranks, ties given their average rank.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }

    static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = average }
            i = j + 1
        }
        return ranks
    }

    /// Two-sided p-value of a correlation r over n pairs: I_{1−r²}((n−2)/2, 1/2).
    public static func correlationPValue(_ r: Double, n: Int) -> Double {
        let df = Double(n - 2)
        guard df > 0 else { return 1 }
        let x = max(0, min(1, 1 - r * r))
        return incompleteBeta(x, a: df / 2, b: 0.5)
    }

    /// The regularized incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes §6.4).
    static func incompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x))
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a, b) / a }
        return 1 - front * continuedFraction(1 - x, b, a) / b
    }

    static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if Swift.abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if Swift.abs(d) < tiny { d = tiny }
            c = 1 + num / c; if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if Swift.abs(d) < tiny { d = tiny }
            c = 1 + num / c; if Swift.abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if Swift.abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}

extension Substring {
    var trimmingWhitespace: String {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    var trimmingWhitespace: String { Substring(self).trimmingWhitespace }
}

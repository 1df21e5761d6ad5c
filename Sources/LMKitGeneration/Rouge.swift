// ROUGE (Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries"), computed as Google's
// `rouge-score` package computes it (rouge_score/rouge_scorer.py, tokenize.py, version 0.1.2), so
// numbers reported here compare with papers and with Hugging Face `evaluate`:
//   tokens: lower-case, every run of characters outside [a-z0-9] is a separator, optionally Porter-stemmed
//           (tokens longer than 3 characters);
//   rougeN: clipped n-gram overlap; rougeL: longest common subsequence of the token sequences;
//   rougeLsum: summary-level LCS over newline-separated sentences (the union LCS of section 3.2).
import LMKitTokenizers

/// ROUGE precision, recall and F1 of a prediction against a reference.
public struct RougeScore: Codable, Sendable, Equatable {
    /// Overlap / prediction length.
    public var precision: Double
    /// Overlap / reference length.
    public var recall: Double
    /// Harmonic mean of precision and recall (0 when both are 0).
    public var fmeasure: Double

    /// A score from precision and recall.
    public init(precision: Double, recall: Double) {
        self.precision = precision
        self.recall = recall
        fmeasure = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }
}

/// Scores summaries with ROUGE-N, ROUGE-L and ROUGE-Lsum.
///
/// ```swift
/// let rouge = Rouge(stemming: true)
/// rouge.score(reference: "The cat sat on the mat.", prediction: "A cat sat on a mat.").rougeL.fmeasure  // 0.667
/// ```
public struct Rouge: Sendable {
    /// Whether tokens longer than 3 characters are Porter-stemmed (`use_stemmer=True`).
    public let stemming: Bool

    /// A scorer; `stemming` as `rouge_score.rouge_scorer.RougeScorer(use_stemmer:)`.
    public init(stemming: Bool = false) { self.stemming = stemming }

    /// The four scores of one prediction.
    public struct Scores: Codable, Sendable, Equatable {
        /// Unigram overlap.
        public var rouge1: RougeScore
        /// Bigram overlap.
        public var rouge2: RougeScore
        /// Longest common subsequence.
        public var rougeL: RougeScore
        /// Summary-level LCS over the lines of each text.
        public var rougeLsum: RougeScore
    }

    /// rouge-score's tokens of `text`.
    public func tokens(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        func flush() {
            guard !current.isEmpty else { return }
            out.append(stemming && current.count > 3 ? PorterStemmer().stem(current) : current)
            current = ""
        }
        for scalar in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) { current.unicodeScalars.append(scalar) } else { flush() }
        }
        flush()
        // The stemmer can only shorten a token of [a-z0-9]; rouge-score's final filter drops empty ones.
        return out.filter { !$0.isEmpty }
    }

    /// ROUGE-1, -2, -L and -Lsum of `prediction` against `reference`.
    public func score(reference: String, prediction: String) -> Scores {
        let r = tokens(reference), p = tokens(prediction)
        return Scores(
            rouge1: Self.ngrams(r, p, 1), rouge2: Self.ngrams(r, p, 2), rougeL: Self.lcs(r, p),
            rougeLsum: Self.summaryLCS(sentences(reference), sentences(prediction)))
    }

    /// The mean of each score over pairs (what papers report for a test set).
    public func mean(references: [String], predictions: [String]) -> Scores {
        precondition(references.count == predictions.count && !references.isEmpty, "ROUGE needs as many references as predictions")
        let all = zip(references, predictions).map { score(reference: $0, prediction: $1) }
        func average(_ key: KeyPath<Scores, RougeScore>) -> RougeScore {
            let n = Double(all.count)
            var s = RougeScore(
                precision: all.reduce(0) { $0 + $1[keyPath: key].precision } / n, recall: all.reduce(0) { $0 + $1[keyPath: key].recall } / n
            )
            s.fmeasure = all.reduce(0) { $0 + $1[keyPath: key].fmeasure } / n
            return s
        }
        return Scores(rouge1: average(\.rouge1), rouge2: average(\.rouge2), rougeL: average(\.rougeL), rougeLsum: average(\.rougeLsum))
    }

    func sentences(_ text: String) -> [[String]] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map { tokens(String($0)) }
    }

    static func ngrams(_ reference: [String], _ prediction: [String], _ n: Int) -> RougeScore {
        func counts(_ t: [String]) -> [ArraySlice<String>: Int] {
            var c: [ArraySlice<String>: Int] = [:]
            if t.count >= n { for i in 0...(t.count - n) { c[t[i..<(i + n)], default: 0] += 1 } }
            return c
        }
        let r = counts(reference), p = counts(prediction)
        let overlap = r.reduce(0) { $0 + min($1.value, p[$1.key] ?? 0) }
        let rTotal = r.values.reduce(0, +), pTotal = p.values.reduce(0, +)
        return RougeScore(precision: Double(overlap) / Double(max(pTotal, 1)), recall: Double(overlap) / Double(max(rTotal, 1)))
    }

    /// The LCS length table of `a` (rows) and `b` (columns), `(a.count + 1) × (b.count + 1)`.
    static func table(_ a: [String], _ b: [String]) -> [[Int]] {
        var t = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : max(t[i - 1][j], t[i][j - 1])
            }
        }
        return t
    }

    static func lcs(_ reference: [String], _ prediction: [String]) -> RougeScore {
        guard !reference.isEmpty, !prediction.isEmpty else { return RougeScore(precision: 0, recall: 0) }
        let length = Double(table(reference, prediction)[reference.count][prediction.count])
        return RougeScore(precision: length / Double(prediction.count), recall: length / Double(reference.count))
    }

    /// Indices into `reference` of one LCS with `candidate`, read back as rouge-score's `_backtrack_norec`.
    static func lcsIndices(_ reference: [String], _ candidate: [String]) -> [Int] {
        let t = table(reference, candidate)
        var (i, j) = (reference.count, candidate.count)
        var out: [Int] = []
        while i > 0 && j > 0 {
            if reference[i - 1] == candidate[j - 1] {
                out.append(i - 1); i -= 1; j -= 1
            } else if t[i][j - 1] > t[i - 1][j] {
                j -= 1
            } else {
                i -= 1
            }
        }
        return out.reversed()
    }

    static func summaryLCS(_ reference: [[String]], _ prediction: [[String]]) -> RougeScore {
        let m = reference.reduce(0) { $0 + $1.count }, n = prediction.reduce(0) { $0 + $1.count }
        guard m > 0, n > 0 else { return RougeScore(precision: 0, recall: 0) }
        var referenceCounts: [String: Int] = [:], predictionCounts: [String: Int] = [:]
        for s in reference { for t in s { referenceCounts[t, default: 0] += 1 } }
        for s in prediction { for t in s { predictionCounts[t, default: 0] += 1 } }
        var hits = 0
        for r in reference {
            let union = Set(prediction.flatMap { lcsIndices(r, $0) }).sorted()
            for token in union.map({ r[$0] }) where (predictionCounts[token] ?? 0) > 0 && (referenceCounts[token] ?? 0) > 0 {
                hits += 1
                predictionCounts[token]! -= 1
                referenceCounts[token]! -= 1
            }
        }
        return RougeScore(precision: Double(hits) / Double(n), recall: Double(hits) / Double(m))
    }
}

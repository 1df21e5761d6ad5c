import LMKitTensor

/// Similarity queries, as gensim's `KeyedVectors` computes them.
extension WordVectors {
    /// Cosine similarity of two words.
    public func similarity(_ a: String, _ b: String) throws(WordVectorsError) -> Double {
        let va = try vector(a, normalized: true).floats, vb = try vector(b, normalized: true).floats
        var dot: Float = 0
        for i in 0..<dimension { dot += va[i] * vb[i] }
        return Double(dot)
    }

    /// The `count` words most similar to the mean of the normalized `positive` vectors minus the
    /// `negative` ones (gensim's `most_similar`; king − man + woman is `positive: ["king", "woman"],
    /// negative: ["man"]`). Input words are excluded. `restrictTo` limits candidates to the first N
    /// words (the most frequent, for GloVe and word2vec files).
    public func mostSimilar(
        positive: [String], negative: [String] = [], count: Int = 10,
        restrictTo limit: Int? = nil
    ) throws(WordVectorsError) -> [(word: String, score: Double)] {
        guard !positive.isEmpty || !negative.isEmpty else {
            throw WordVectorsError(path: nil, problem: "most similar to what? give at least one word")
        }
        var terms: [Tensor] = []
        var exclude = Set<Int>()
        for (word, weight) in positive.map({ ($0, 1.0) }) + negative.map({ ($0, -1.0) }) {
            let i = try requireIndex(word)
            exclude.insert(i)
            terms.append(vector(at: i, normalized: true) * weight)
        }
        return nearest(to: meanUnitVector(terms), count: count, excluding: exclude, limit: limit)
    }

    /// The `count` words nearest to an arbitrary vector (gensim's `similar_by_vector`).
    public func similar(toVector v: Tensor, count: Int = 10, restrictTo limit: Int? = nil) -> [(word: String, score: Double)] {
        nearest(to: meanUnitVector([v.converted(to: .float32)]), count: count, excluding: [], limit: limit)
    }

    /// 3CosMul analogies (Levy & Goldberg 2014, eq. 4, cosines shifted to [0, 1]; gensim's
    /// `most_similar_cosmul`): Π (1 + cos(w, p))/2 / (Π (1 + cos(w, n))/2 + 1e-6).
    public func mostSimilarCosMul(
        positive: [String], negative: [String] = [], count: Int = 10,
        restrictTo limit: Int? = nil
    ) throws(WordVectorsError) -> [(word: String, score: Double)] {
        let n = min(limit ?? self.count, self.count)
        var exclude = Set<Int>()
        var numerator = [Float](repeating: 1, count: n), denominator = [Float](repeating: 1, count: n)
        for (words, isPositive) in [(positive, true), (negative, false)] {
            for word in words {
                let i = try requireIndex(word)
                exclude.insert(i)
                let cos = cosines(to: vector(at: i, normalized: true), limit: n)
                for j in 0..<n {
                    let shifted = (1 + cos[j]) / 2
                    if isPositive { numerator[j] *= shifted } else { denominator[j] *= shifted }
                }
            }
        }
        // An empty product is 1, as numpy's `prod([], axis=0)`.
        let scores = (0..<n).map { numerator[$0] / (denominator[$0] + 0.000001) }
        return TopK.best(scores, count: count, excluding: exclude).map { (words[$0], Double(scores[$0])) }
    }

    /// The word that fits least: the one whose normalized vector is farthest from the mean of them all
    /// (gensim's `doesnt_match`). Words missing from the vocabulary are ignored, as in gensim.
    public func doesntMatch(_ candidates: [String]) throws(WordVectorsError) -> String {
        let used = candidates.filter { contains($0) }
        guard !used.isEmpty else { throw WordVectorsError(path: nil, problem: "none of \(candidates) is in the vocabulary") }
        var units: [Tensor] = []
        for w in used { units.append(try vector(w, normalized: true)) }
        let mean = meanUnitVector(units).floats
        let scored = zip(units, used).map { unit, word -> (Float, String) in
            let u = unit.floats
            var d: Float = 0
            for i in 0..<dimension { d += u[i] * mean[i] }
            return (d, word)
        }
        return scored.min { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }!.1
    }

    /// The unit vector along the mean of `terms` (float32 throughout, as gensim's `unitvec(mean)`).
    func meanUnitVector(_ terms: [Tensor]) -> Tensor {
        GradMode.withoutGradient {
            let mean = Tensor.stacked(terms, axis: 0).mean(axis: 0)
            let norm = mean.squared().sum().sqrt().item()
            return norm > 0 ? mean / norm : mean
        }
    }

    /// cos(word i, v) for the first `limit` words, for a unit vector `v`: v·x / ‖x‖.
    func cosines(to unit: Tensor, limit: Int) -> [Float] {
        GradMode.withoutGradient {
            let candidates = limit == count ? matrix : matrix.sliced(axis: 0, range: 0..<limit)
            let dots = unit.reshaped([1, dimension]).matmul(candidates.transposed()).reshaped([limit])  // (V)
            let n = limit == count ? norms : norms.sliced(axis: 0, range: 0..<limit)
            return (dots / n).floats
        }
    }

    func nearest(to unit: Tensor, count k: Int, excluding: Set<Int>, limit: Int?) -> [(word: String, score: Double)] {
        let n = min(limit ?? count, count)
        let scores = cosines(to: unit, limit: n)
        return TopK.best(scores, count: k, excluding: excluding).map { (words[$0], Double(scores[$0])) }
    }
}

/// Selection of the k largest scores in one pass (a small sorted buffer; k is tens at most).
enum TopK {
    /// Indices of the `count` largest scores, best first; ties go to the lower index. NaNs are skipped.
    static func best(_ scores: [Float], count: Int, excluding: Set<Int> = []) -> [Int] {
        guard count > 0 else { return [] }
        var top: [(score: Float, index: Int)] = []
        top.reserveCapacity(count + 1)
        for (i, s) in scores.enumerated() where !s.isNaN && !excluding.contains(i) {
            if top.count == count, let last = top.last, s <= last.score { continue }
            var position = top.count
            while position > 0 && top[position - 1].score < s { position -= 1 }
            top.insert((s, i), at: position)
            if top.count > count { top.removeLast() }
        }
        return top.map(\.index)
    }
}

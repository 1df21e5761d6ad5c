import LMKitTensor

/// A vocabulary of words with one vector each: GloVe, word2vec, or vectors you trained.
///
/// Queries (cosine similarity, nearest neighbours, analogies) follow gensim's `KeyedVectors` step for
/// step, so results can be compared with it: cosines are dot products divided by the vectors' norms,
/// and the nearest-neighbour search is one matrix–vector product over the whole vocabulary (BLAS).
///
/// ```swift
/// let glove = try WordVectors(numpy: "glove_6B_50d_emb.npy", words: "glove_6B_50d_words.txt")
/// try glove.similarity("king", "queen")                            // 0.7839043
/// try glove.mostSimilar(positive: ["king", "woman"], negative: ["man"], count: 1)   // [("queen", 0.8524)]
/// ```
public final class WordVectors: @unchecked Sendable {
    /// The words, in storage order (for GloVe and word2vec files: most frequent first).
    public let words: [String]
    /// `[words.count, dimension]` float32; may be a transposed view of column-major data.
    public let matrix: Tensor
    /// The L2 norm of each word's vector.
    public let norms: Tensor
    private let index: [String: Int]

    /// Vectors for `words` (rows of `matrix`, `[words.count, dimension]`). The first occurrence of a
    /// repeated word wins, as in gensim.
    public convenience init(words: [String], matrix: Tensor) throws(WordVectorsError) {
        guard matrix.rank == 2, matrix.shape[0] == words.count else {
            throw WordVectorsError(path: nil, problem: "\(words.count) words for a matrix of shape \(matrix.shape)")
        }
        self.init(uniqueWords: words, matrix: matrix)
    }

    /// Vectors whose shape has been checked (`matrix.shape[0] == words.count`).
    init(uniqueWords words: [String], matrix: Tensor) {
        self.words = words
        let m = matrix.dtype == .float32 ? matrix.detached() : matrix.converted(to: .float32).detached()
        self.matrix = m
        var index: [String: Int] = [:]
        index.reserveCapacity(words.count)
        for (i, w) in words.enumerated() where index[w] == nil { index[w] = i }
        self.index = index
        norms = GradMode.withoutGradient { m.squared().sum(axis: 1).sqrt() }
    }

    /// Number of words.
    public var count: Int { words.count }
    /// Length of each vector.
    public var dimension: Int { matrix.shape[1] }

    /// The row of `word`, if it is in the vocabulary.
    public func index(of word: String) -> Int? { index[word] }

    /// Whether `word` is in the vocabulary.
    public func contains(_ word: String) -> Bool { index[word] != nil }

    /// The row of `word`; throws an error that suggests the lower-case form when that exists.
    public func requireIndex(_ word: String) throws(WordVectorsError) -> Int {
        if let i = index[word] { return i }
        let lower = word.lowercased()
        let hint = lower != word && index[lower] != nil ? " (the vocabulary has '\(lower)')" : ""
        throw WordVectorsError(path: nil, problem: "'\(word)' is not in the vocabulary of \(count) words\(hint)")
    }

    /// The vector of `word` (`normalized`: divided by its norm).
    public func vector(_ word: String, normalized: Bool = false) throws(WordVectorsError) -> Tensor {
        vector(at: try requireIndex(word), normalized: normalized)
    }

    /// The vector at row `i`, as a contiguous `[dimension]` tensor.
    public func vector(at i: Int, normalized: Bool = false) -> Tensor {
        let v = matrix.selected(axis: 0, index: i).contiguous()
        guard normalized else { return v }
        let n = Double(norms.withUnsafeScalars(Float.self) { $0[i] })
        return n > 0 ? v / n : v
    }
}

/// A word-vector file or query that cannot be used, with where and why.
public struct WordVectorsError: Error, CustomStringConvertible, Sendable {
    /// The file involved, if any.
    public let path: String?
    /// What is wrong (and, for files, where: line or entry).
    public let problem: String

    /// An error about the file at `path` (nil for a query), saying `problem`.
    public init(path: String?, problem: String) {
        self.path = path
        self.problem = problem
    }

    /// `path: problem`, or just the problem when there is no path.
    public var description: String { path.map { "\($0): \(problem)" } ?? problem }
}

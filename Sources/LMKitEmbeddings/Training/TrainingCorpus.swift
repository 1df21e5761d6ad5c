import LMKitTensor

/// A corpus prepared for training word vectors: the vocabulary (words with counts, most frequent
/// first) and the text as word ids, one sentence per line of the source file.
///
/// The file is read through a memory map; tokens are runs of non-whitespace bytes (as gensim's
/// `LineSentence`), optionally lower-cased, and lines longer than 10,000 tokens are cut into pieces
/// of that size (as gensim does). Words rarer than `minCount` are dropped from the vocabulary and
/// from the id stream.
public struct TrainingCorpus: Sendable {
    public let words: [String]
    public let counts: [Int]
    /// Word ids of the kept tokens, sentence after sentence.
    public let ids: [Int32]
    /// `ids[sentenceStarts[i]..<sentenceStarts[i+1]]` is sentence i (one extra entry at the end).
    public let sentenceStarts: [Int]
    /// Tokens in the file, including those dropped by `minCount` (what words/s counts).
    public let rawTokenCount: Int

    public static let maxSentenceLength = 10_000

    public init(path: String, minCount: Int = 5, lowercase: Bool = false) throws(WordVectorsError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw WordVectorsError(path: path, problem: error.reason) }
        guard let base = file.base, file.size > 0 else { throw WordVectorsError(path: path, problem: "the corpus is empty") }
        let bytes = UnsafeRawBufferPointer(start: base, count: file.size)
        // Pass 1: count every token.
        var index: [String: Int32] = [:]
        var allWords: [String] = []
        var allCounts: [Int] = []
        var sentenceTokens: [[Int32]] = []   // per line, provisional ids
        var raw = 0
        var invalid = 0
        var line: [Int32] = []
        var i = 0
        func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 11 || b == 12 }
        while i < bytes.count {
            let b = bytes[i]
            if b == 10 {
                sentenceTokens.append(line)
                line.removeAll(keepingCapacity: true)
                i += 1
                continue
            }
            if isSpace(b) { i += 1; continue }
            let start = i
            while i < bytes.count && !isSpace(bytes[i]) { i += 1 }
            guard var token = String(validating: bytes[start..<i], as: UTF8.self) else { invalid += 1; continue }
            if lowercase { token = token.lowercased() }
            raw += 1
            if let id = index[token] {
                allCounts[Int(id)] += 1
                line.append(id)
            } else {
                let id = Int32(allWords.count)
                index[token] = id
                allWords.append(token)
                allCounts.append(1)
                line.append(id)
            }
        }
        if !line.isEmpty { sentenceTokens.append(line) }
        if invalid > 0 && raw == 0 { throw WordVectorsError(path: path, problem: "no valid UTF-8 tokens in the corpus") }
        // Keep frequent words, most frequent first (ties: first seen first), and renumber.
        let kept = allWords.indices.filter { allCounts[$0] >= minCount }.sorted {
            allCounts[$0] != allCounts[$1] ? allCounts[$0] > allCounts[$1] : $0 < $1
        }
        guard !kept.isEmpty else {
            throw WordVectorsError(path: path, problem: "no word occurs at least \(minCount) times (--min-count)")
        }
        var newID = [Int32](repeating: -1, count: allWords.count)
        for (n, old) in kept.enumerated() { newID[old] = Int32(n) }
        var ids: [Int32] = []
        var starts: [Int] = [0]
        for sentence in sentenceTokens {
            var length = 0
            for old in sentence {
                let id = newID[Int(old)]
                guard id >= 0 else { continue }
                ids.append(id)
                length += 1
                if length == Self.maxSentenceLength { starts.append(ids.count); length = 0 }
            }
            if length > 0 { starts.append(ids.count) }
        }
        words = kept.map { allWords[$0] }
        counts = kept.map { allCounts[$0] }
        self.ids = ids
        sentenceStarts = starts
        rawTokenCount = raw
    }

    public var sentenceCount: Int { sentenceStarts.count - 1 }
}

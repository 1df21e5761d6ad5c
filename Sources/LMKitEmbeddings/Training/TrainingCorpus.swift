#if canImport(Glibc)
    import Glibc
#endif
import LMKitTensor

/// A corpus prepared for training word vectors: the vocabulary (words with counts, most frequent
/// first) and the text as a stream of word ids, sentence ends marked in the stream.
///
/// Nothing proportional to the corpus is held in memory. The text file is memory-mapped and tokenized
/// twice: once to count the words, once to write the ids to a temporary file, which is memory-mapped
/// and unlinked at once, so the operating system pages it in as training reads it and the disk space
/// goes when the corpus does. Tokens are runs of non-whitespace bytes (as gensim's `LineSentence`),
/// optionally lower-cased; each line is a sentence, cut into pieces of at most 10,000 tokens (as gensim
/// does). Words rarer than `minCount` are dropped from the vocabulary and from the stream.
public struct TrainingCorpus: Sendable {
    /// The vocabulary: words seen at least `minCount` times, most frequent first; a word's index is its id.
    public let words: [String]
    /// Occurrences of each word in ``words``, in the same order (so non-increasing).
    public let counts: [Int]
    /// Tokens in the file, including those dropped by `minCount` (what words/s counts).
    public let rawTokenCount: Int
    /// Sentences with at least one kept word.
    public let sentenceCount: Int
    /// Kept tokens (the stream without its sentence markers).
    public let keptTokenCount: Int
    private let storage: MappedFile?

    /// Marks the end of a sentence in the id stream.
    public static let sentenceEnd: Int32 = -1
    /// Most kept tokens in one sentence; longer lines are cut into pieces this long (gensim's `MAX_WORDS_IN_BATCH`).
    public static let maxSentenceLength = 10_000

    /// The id stream: word ids, each sentence followed by ``sentenceEnd``.
    public var stream: UnsafeBufferPointer<Int32> {
        guard let storage, let base = storage.base else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base.assumingMemoryBound(to: Int32.self), count: storage.size / 4)
    }

    /// Reads the UTF-8 text file at `path`, keeping words seen at least `minCount` times, optionally lower-cased.
    public init(path: String, minCount: Int = 5, lowercase: Bool = false) throws(WordVectorsError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw WordVectorsError(path: path, problem: error.reason) }
        guard let base = file.base, file.size > 0 else { throw WordVectorsError(path: path, problem: "the corpus is empty") }
        let bytes = UnsafeRawBufferPointer(start: base, count: file.size)
        // Pass 1: count every token.
        var index: [String: Int32] = [:]
        var allWords: [String] = []
        var allCounts: [Int] = []
        var raw = 0
        Self.tokens(bytes, lowercase: lowercase) { token in
            guard let token else { return }
            raw += 1
            if let id = index[token] {
                allCounts[Int(id)] += 1
            } else {
                index[token] = Int32(allWords.count)
                allWords.append(token)
                allCounts.append(1)
            }
        }
        guard raw > 0 else { throw WordVectorsError(path: path, problem: "no valid UTF-8 tokens in the corpus") }
        // Keep frequent words, most frequent first (ties: first seen first), and renumber.
        let kept = allWords.indices.filter { allCounts[$0] >= minCount }.sorted {
            allCounts[$0] != allCounts[$1] ? allCounts[$0] > allCounts[$1] : $0 < $1
        }
        guard !kept.isEmpty else {
            throw WordVectorsError(path: path, problem: "no word occurs at least \(minCount) times (--min-count)")
        }
        var newID = [Int32](repeating: -1, count: allWords.count)
        for (n, old) in kept.enumerated() { newID[old] = Int32(n) }
        // Pass 2: write the id stream to an unlinked temporary file.
        var template = Array((Self.temporaryFolder() + "/lmkit-corpus-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw WordVectorsError(path: path, problem: "cannot create a temporary file for the token stream") }
        let temporaryPath = String(cString: template)
        defer { close(fd); unlink(temporaryPath) }
        var buffer: [Int32] = []
        buffer.reserveCapacity(1 << 18)
        var length = 0, sentences = 0, keptTokens = 0
        var failed = false
        func flush() {
            guard !buffer.isEmpty, !failed else { buffer.removeAll(keepingCapacity: true); return }
            let ok = buffer.withUnsafeBytes { b -> Bool in
                var done = 0
                while done < b.count {
                    let n = write(fd, b.baseAddress! + done, b.count - done)
                    if n <= 0 { return false }
                    done += n
                }
                return true
            }
            failed = !ok
            buffer.removeAll(keepingCapacity: true)
        }
        func endSentence() {
            if length > 0 { buffer.append(Self.sentenceEnd); sentences += 1; length = 0 }
        }
        Self.tokens(bytes, lowercase: lowercase) { token in
            guard let token else { endSentence(); return }
            guard let old = index[token], newID[Int(old)] >= 0 else { return }
            buffer.append(newID[Int(old)])
            keptTokens += 1
            length += 1
            if length == Self.maxSentenceLength { endSentence() }
            if buffer.count >= 1 << 18 { flush() }
        }
        endSentence()
        flush()
        guard !failed else {
            throw WordVectorsError(path: path, problem: "writing the token stream to \(Self.temporaryFolder()) failed (disk full?)")
        }
        do { storage = try MappedFile(path: temporaryPath) } catch {
            throw WordVectorsError(path: path, problem: "cannot map the token stream: \(error.reason)")
        }
        words = kept.map { allWords[$0] }
        counts = kept.map { allCounts[$0] }
        rawTokenCount = raw
        sentenceCount = sentences
        keptTokenCount = keptTokens
    }

    /// Calls `body` with each token, and with nil at each line end.
    static func tokens(_ bytes: UnsafeRawBufferPointer, lowercase: Bool, _ body: (String?) -> Void) {
        func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 11 || b == 12 }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 10 { body(nil); i += 1; continue }
            if isSpace(b) { i += 1; continue }
            let start = i
            while i < bytes.count && !isSpace(bytes[i]) { i += 1 }
            guard let token = String(validating: bytes[start..<i], as: UTF8.self) else { continue }  // invalid UTF-8 is skipped
            body(lowercase ? token.lowercased() : token)
        }
        body(nil)
    }

    static func temporaryFolder() -> String {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }

    /// The part of the stream worker `worker` of `workers` trains on: whole sentences, about an equal
    /// share of the stream each (word2vec.c's split of the file by thread, moved to sentence ends).
    public func share(_ worker: Int, of workers: Int) -> Range<Int> {
        let s = stream
        func sentenceStart(atOrAfter position: Int) -> Int {
            if position <= 0 { return 0 }
            var p = position
            while p < s.count && s[p - 1] != Self.sentenceEnd { p += 1 }
            return min(p, s.count)
        }
        return sentenceStart(atOrAfter: s.count * worker / workers)..<sentenceStart(atOrAfter: s.count * (worker + 1) / workers)
    }
}

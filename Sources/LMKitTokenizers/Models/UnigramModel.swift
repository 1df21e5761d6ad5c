/// The unigram language model (SentencePiece `unigram_model.cc`, Hugging Face `Unigram`): of all
/// ways to cut a piece into vocabulary entries, the one with the highest total log-probability,
/// found by Viterbi. A character no entry covers costs the unknown score (lowest score − 10) and
/// consecutive unknowns fuse into one `<unk>`; with byte fallback they become `<0xXX>` tokens.
final class UnigramModel: TokenizerModel, @unchecked Sendable {
    let tokens: [String]
    let scores: [Double]
    let vocab: ByteStringTable
    let unkID: Int32?
    let byteFallback: Bool
    private let maxPieceBytes: Int
    private let unkScore: Double
    private let byteIDs: [Int32]

    var vocabSize: Int { tokens.count }

    init(tokens: [String], scores: [Double], unkID: Int?, byteFallback: Bool) throws(TokenizerError) {
        self.tokens = tokens
        self.scores = scores
        let (vocab, longest) = ByteStringTable.vocabulary(tokens)
        self.vocab = vocab
        if let unkID, !(0..<tokens.count).contains(unkID) {
            throw TokenizerError("Unigram unk_id \(unkID) is outside the vocabulary of \(tokens.count)")
        }
        self.unkID = unkID.map(Int32.init)
        self.byteFallback = byteFallback
        maxPieceBytes = max(1, longest)
        unkScore = (scores.min() ?? 0) - 10
        var byteIDs = [Int32](repeating: -1, count: 256)
        if byteFallback {
            for b in 0..<256 {
                let name = "<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">"
                guard let id = vocab.lookup(Array(name.utf8)) else {
                    throw TokenizerError("byte_fallback is on but the vocabulary lacks \(name)")
                }
                byteIDs[b] = id
            }
        }
        self.byteIDs = byteIDs
    }

    func id(of token: String) -> Int? { vocab.lookup(Array(token.utf8)).map(Int.init) }
    func token(of id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
    func bytes(of id: Int) -> [UInt8]? { token(of: id).map { Array($0.utf8) } }
    func makeScratch() -> ModelScratch? { nil }

    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: ModelScratch?, into out: inout ModelOutput) {
        let n = range.count
        guard n > 0 else { return }
        let base = range.lowerBound
        // best[i]: best score of a segmentation of the first i bytes; from[i]: where its last token starts.
        var best = [Double](repeating: -.infinity, count: n + 1)
        var from = [Int](repeating: -1, count: n + 1)
        var tokenAt = [Int32](repeating: -1, count: n + 1)
        best[0] = 0
        var i = 0
        while i < n {
            if best[i] == -.infinity { i += 1; continue }
            let charLen = min(UTF8Scanner.sequenceLength(p[base + i]), n - i)
            var coveredChar = false
            var len = 1
            while len <= min(maxPieceBytes, n - i) {
                let end = i + len
                if end == n || p[base + end] & 0xC0 != 0x80,
                    let id = vocab.lookup(UnsafeBufferPointer(rebasing: p[(base + i)..<(base + end)]))
                {
                    let s = best[i] + scores[Int(id)]
                    if s > best[end] { best[end] = s; from[end] = i; tokenAt[end] = id }
                    if len == charLen { coveredChar = true }
                }
                len += 1
            }
            if !coveredChar {
                let end = i + charLen
                let s = best[i] + unkScore
                if s > best[end] { best[end] = s; from[end] = i; tokenAt[end] = -1 }
            }
            i += charLen
        }
        var path: [(Int32, Range<Int>)] = []
        var end = n
        while end > 0 {
            let start = from[end]
            path.append((tokenAt[end], start..<end))
            end = start
        }
        var lastUnk = false
        for (id, r) in path.reversed() {
            if id >= 0 {
                out.append(id, (base + r.lowerBound)..<(base + r.upperBound)); lastUnk = false
            } else if byteFallback {
                for b in r { out.append(byteIDs[Int(p[base + b])], (base + r.lowerBound)..<(base + r.upperBound)) }
            } else if let unk = unkID {
                if lastUnk, let last = out.ranges.last {
                    out.ranges[out.ranges.count - 1] = last.lowerBound..<(base + r.upperBound)
                } else {
                    out.spelledByText.append(out.ids.count)
                    out.append(unk, (base + r.lowerBound)..<(base + r.upperBound))
                }
                lastUnk = true
            }
        }
    }
}

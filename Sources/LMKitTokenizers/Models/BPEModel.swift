/// Byte-pair encoding: a piece starts as single symbols (bytes, or characters) that are merged pair
/// by pair, the pair with the best priority first, until no known pair is left.
///
/// One engine covers the three flavours in use:
/// - **byte-level** (GPT-2, tiktoken, RoBERTa, Llama 3): symbols start as the piece's bytes; the
///   priority of a pair is its rank in `merges.txt`, or for a tiktoken rank file the rank of the
///   token the pair makes;
/// - **character-level with byte fallback** (Llama 2 / Gemma `tokenizer.json`): symbols start as
///   characters, an unknown character becomes its `<0xXX>` byte tokens;
/// - **SentencePiece BPE** (GGUF `llama` vocabularies): the pair whose concatenation is the piece with
///   the highest score merges first (ties: leftmost), user-defined pieces are matched whole first
///   and never merged further (reference: sentencepiece `bpe_model.cc`).
///
/// Ties between equal priorities go to the leftmost pair, as in every reference implementation.
final class BPEModel: TokenizerModel, @unchecked Sendable {
    struct Options {
        var byteLevel = false
        var unkID: Int32? = nil
        var byteFallback = false
        var fuseUnk = false
        /// A piece that is a token by itself is that token, without merging: Llama 3's
        /// `ignore_merges`, and tiktoken's rule (set for tiktoken rank files).
        var ignoreMerges = false
        var continuingSubwordPrefix: String? = nil
        var endOfWordSuffix: String? = nil
        /// Pieces matched whole before merging and never merged further (SentencePiece user-defined).
        var userDefined: [String] = []
        /// Ids that tokenization must not output (SentencePiece control tokens, unused pieces).
        var notOutput: Set<Int32> = []
    }

    let options: Options
    /// Token bytes → id. For a byte-level vocabulary, keys are raw bytes (the printable spelling decoded).
    let vocab: ByteStringTable
    /// id → vocabulary spelling.
    let tokens: [String]
    /// id → bytes of text (raw bytes for byte-level, UTF-8 of the spelling otherwise).
    let tokenBytes: [[UInt8]]
    let merges: PairTable
    /// For each byte value, the id of the token for that byte alone (byte-level) or of `<0xXX>` (fallback).
    let byteIDs: [Int32]
    /// Merge ranks as read (for saving `tokenizer.json`): pairs of ids in priority order.
    let mergeList: [(Int32, Int32)]
    private let userDefined: ByteStringTable
    private let userDefinedMaxLength: Int
    // Hot-path copies of `options` (reading through the struct retains its arrays and sets).
    private let byteLevel: Bool
    private let ignoreMerges: Bool
    private let hasSuffix: Bool
    /// id → must not be output (`options.notOutput` as a flag per id; empty when none).
    private let notOutputFlags: [Bool]

    var vocabSize: Int { tokens.count }

    /// - Parameters:
    ///   - tokens: vocabulary spellings, index = id (gaps are empty strings).
    ///   - merges: pairs of ids in priority order (lowest first), each with the id it makes, or
    ///     priorities given per pair (SentencePiece scores).
    init(tokens: [String], merges: [(a: Int32, b: Int32, priority: Float, merged: Int32)], options: Options) throws(TokenizerError) {
        self.options = options
        self.tokens = tokens
        var vocab = ByteStringTable(capacity: tokens.count)
        var tokenBytes: [[UInt8]] = []
        tokenBytes.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            let bytes = options.byteLevel ? (ByteUnicode.decode(t) ?? Array(t.utf8)) : Array(t.utf8)
            tokenBytes.append(bytes)
            if !t.isEmpty, vocab.lookup(bytes) == nil { vocab.insert(bytes, value: Int32(i)) }
        }
        self.vocab = vocab
        self.tokenBytes = tokenBytes
        var table = PairTable(capacity: merges.count)
        for m in merges { table.insert(m.a, m.b, priority: m.priority, merged: m.merged) }
        self.merges = table
        mergeList = merges.map { ($0.a, $0.b) }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if options.byteLevel {
                guard let id = vocab.lookup([UInt8(b)]) else {
                    throw TokenizerError(
                        "byte-level vocabulary has no token for byte 0x\(String(b, radix: 16)) (\(ByteUnicode.characters[b]))")
                }
                byteIDs[b] = id
            } else if options.byteFallback {
                let name = "<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">"
                if let id = vocab.lookup(Array(name.utf8)) { byteIDs[b] = id }
            }
        }
        if options.byteFallback && !options.byteLevel && byteIDs.contains(-1) {
            throw TokenizerError("byte_fallback is on but the vocabulary lacks some <0xXX> byte tokens")
        }
        self.byteIDs = byteIDs
        var ud = ByteStringTable()
        var maxLen = 0
        for u in options.userDefined where !u.isEmpty {
            let b = Array(u.utf8)
            ud.insert(b, value: 1)
            maxLen = max(maxLen, b.count)
        }
        userDefined = ud
        userDefinedMaxLength = maxLen
        byteLevel = options.byteLevel
        ignoreMerges = options.ignoreMerges
        hasSuffix = options.endOfWordSuffix != nil
        var flags: [Bool] = []
        if !options.notOutput.isEmpty {
            flags = Array(repeating: false, count: tokens.count)
            for id in options.notOutput where id >= 0 && Int(id) < tokens.count { flags[Int(id)] = true }
        }
        notOutputFlags = flags
    }

    @inline(__always)
    private func isOutput(_ id: Int32) -> Bool {
        id >= 0 && (notOutputFlags.isEmpty || !notOutputFlags[Int(id)])
    }

    func id(of token: String) -> Int? {
        let bytes = options.byteLevel ? (ByteUnicode.decode(token) ?? Array(token.utf8)) : Array(token.utf8)
        return vocab.lookup(bytes).map(Int.init)
    }
    func token(of id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
    func bytes(of id: Int) -> [UInt8]? { id >= 0 && id < tokenBytes.count ? tokenBytes[id] : nil }

    /// Pieces already encoded in this call: piece bytes → (count, then (id, length) pairs) in `arena`.
    struct PieceCache {
        var table = ByteStringTable(capacity: 4096)
        var arena: [Int32] = []
        var symbols = SymbolBuffer()
    }

    final class Cache: ModelScratch {
        var state = PieceCache()
    }

    func makeScratch() -> ModelScratch? { Cache() }

    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: ModelScratch?, into out: inout ModelOutput) {
        tokenize(p, pieces: CollectionOfOne(range), scratch: scratch, into: &out)
    }

    func tokenizePieces(_ p: UnsafeBufferPointer<UInt8>, _ pieces: [Range<Int>], scratch: ModelScratch?, into out: inout ModelOutput) {
        tokenize(p, pieces: pieces, scratch: scratch, into: &out)
    }

    func tokenize(_ p: UnsafeBufferPointer<UInt8>, pieces: some Collection<Range<Int>>, scratch: ModelScratch?, into out: inout ModelOutput)
    {
        // The cache moves out of its class for the loop: a local struct is accessed without
        // exclusivity checks or reference counting.
        let holder = scratch as? Cache
        var cache =
            holder.map { h in
                var taken = PieceCache(table: ByteStringTable(capacity: 1), arena: [], symbols: SymbolBuffer())
                swap(&taken, &h.state)
                return taken
            } ?? PieceCache()
        defer { if let holder { holder.state = cache } }
        for range in pieces {
            let piece = UnsafeBufferPointer(rebasing: p[range])
            if piece.isEmpty { continue }
            if let at = cache.table.lookup(piece) {
                cache.arena.withUnsafeBufferPointer { a in
                    let n = Int(a[Int(at)])
                    var pos = range.lowerBound
                    for k in 0..<n {
                        let id = a[Int(at) + 1 + 2 * k], len = Int(a[Int(at) + 2 + 2 * k])
                        out.append(id, pos..<(pos + len))
                        pos += len
                    }
                }
                continue
            }
            let before = out.ids.count
            encodePiece(piece, base: range.lowerBound, symbols: &cache.symbols, into: &out)
            if cache.table.count > 1 << 20 { cache.table.removeAll(); cache.arena.removeAll(keepingCapacity: true) }
            let at = Int32(cache.arena.count)
            cache.arena.append(Int32(out.ids.count - before))
            for k in before..<out.ids.count {
                cache.arena.append(out.ids[k])
                cache.arena.append(Int32(out.ranges[k].count))
            }
            cache.table.insert(piece, value: at)
        }
    }

    /// Working arrays for one piece, reused across pieces.
    struct SymbolBuffer {
        var ids: [Int32] = []
        var lens: [Int32] = []
        var frozen: [Bool] = []
    }

    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, base: Int, symbols s: inout SymbolBuffer, into out: inout ModelOutput) {
        if ignoreMerges, !hasSuffix, let id = vocab.lookup(piece), isOutput(id) {
            out.append(id, base..<(base + piece.count))
            return
        }
        s.ids.removeAll(keepingCapacity: true)
        s.lens.removeAll(keepingCapacity: true)
        s.frozen.removeAll(keepingCapacity: true)
        initialSymbols(piece, &s)
        if s.ids.count > 1 {
            if s.ids.count <= 96 { mergeByScan(&s) } else { mergeByHeap(&s) }
        }
        emit(piece, base: base, s, into: &out)
    }

    /// Splits a piece into its first symbols. A symbol with id -1 is a character not in the vocabulary.
    private func initialSymbols(_ piece: UnsafeBufferPointer<UInt8>, _ s: inout SymbolBuffer) {
        if byteLevel {
            byteIDs.withUnsafeBufferPointer { table in
                for b in piece { s.ids.append(table[Int(b)]); s.lens.append(1); s.frozen.append(false) }
            }
            return
        }
        let o = options
        var prefixed: [UInt8] = []
        let prefix = o.continuingSubwordPrefix.map { Array($0.utf8) }
        let suffix = o.endOfWordSuffix.map { Array($0.utf8) }
        var i = 0
        while i < piece.count {
            if userDefinedMaxLength > 0 {
                var len = min(userDefinedMaxLength, piece.count - i)
                var matched = 0
                while len > 0 {
                    if userDefined.lookup(UnsafeBufferPointer(rebasing: piece[i..<(i + len)])) != nil { matched = len; break }
                    len -= 1
                }
                if matched > 0 {
                    let id = vocab.lookup(UnsafeBufferPointer(rebasing: piece[i..<(i + matched)])) ?? -1
                    s.ids.append(id); s.lens.append(Int32(matched)); s.frozen.append(true)
                    i += matched
                    continue
                }
            }
            let n = min(UTF8Scanner.sequenceLength(piece[i]), piece.count - i)
            var id: Int32
            if prefix == nil && suffix == nil {
                id = vocab.lookup(UnsafeBufferPointer(rebasing: piece[i..<(i + n)])) ?? -1
            } else {
                prefixed.removeAll(keepingCapacity: true)
                if i > 0, let prefix { prefixed += prefix }
                prefixed += piece[i..<(i + n)]
                if i + n == piece.count, let suffix { prefixed += suffix }
                id = vocab.lookup(prefixed) ?? -1
            }
            s.ids.append(id); s.lens.append(Int32(n)); s.frozen.append(false)
            i += n
        }
    }

    @inline(__always)
    private func pairPriority(_ s: borrowing SymbolBuffer, _ i: Int) -> (Float, Int32) {
        let a = s.ids[i], b = s.ids[i + 1]
        if a < 0 || b < 0 || s.frozen[i] || s.frozen[i + 1] { return (.infinity, -1) }
        guard let m = merges.lookup(a, b) else { return (.infinity, -1) }
        return (m.priority, m.merged)
    }

    /// Short pieces: keep each adjacent pair's priority in an array, merge the best, update neighbours.
    private func mergeByScan(_ s: inout SymbolBuffer) {
        var pri: [(Float, Int32)] = []
        pri.reserveCapacity(s.ids.count)
        for i in 0..<(s.ids.count - 1) { pri.append(pairPriority(s, i)) }
        while true {
            var best = -1
            var bestP = Float.infinity
            for i in 0..<pri.count where pri[i].0 < bestP {
                bestP = pri[i].0
                best = i
            }
            if best < 0 { break }
            s.ids[best] = pri[best].1
            s.lens[best] += s.lens[best + 1]
            s.ids.remove(at: best + 1)
            s.lens.remove(at: best + 1)
            s.frozen.remove(at: best + 1)
            pri.remove(at: best)
            if best < pri.count { pri[best] = pairPriority(s, best) }
            if best > 0 { pri[best - 1] = pairPriority(s, best - 1) }
        }
    }

    /// Long pieces (a run of 10,000 spaces, a base64 blob): a linked list and a binary heap keep each
    /// step logarithmic instead of linear. Heap entries that went stale are skipped when popped.
    private func mergeByHeap(_ s: inout SymbolBuffer) {
        let n = s.ids.count
        var prev = (0..<n).map { $0 - 1 }
        var next = (0..<n).map { $0 + 1 == n ? -1 : $0 + 1 }
        var alive = [Bool](repeating: true, count: n)
        var heap = BinaryHeap<MergeCandidate>()
        func push(_ i: Int) {
            let j = next[i]
            guard j >= 0 else { return }
            let a = s.ids[i], b = s.ids[j]
            if a < 0 || b < 0 || s.frozen[i] || s.frozen[j] { return }
            if let m = merges.lookup(a, b) {
                heap.push(MergeCandidate(priority: m.priority, position: i, left: a, right: b, merged: m.merged))
            }
        }
        for i in 0..<(n - 1) { push(i) }
        while let e = heap.pop() {
            let i = e.position
            guard alive[i], s.ids[i] == e.left, next[i] >= 0, s.ids[next[i]] == e.right else { continue }
            let j = next[i]
            s.ids[i] = e.merged
            s.lens[i] += s.lens[j]
            alive[j] = false
            next[i] = next[j]
            if next[j] >= 0 { prev[next[j]] = i }
            if prev[i] >= 0 { push(prev[i]) }
            push(i)
        }
        var k = 0
        for i in 0..<n where alive[i] {
            s.ids[k] = s.ids[i]; s.lens[k] = s.lens[i]; s.frozen[k] = s.frozen[i]
            k += 1
        }
        s.ids.removeLast(n - k); s.lens.removeLast(n - k); s.frozen.removeLast(n - k)
    }

    private func emit(_ piece: UnsafeBufferPointer<UInt8>, base: Int, _ s: SymbolBuffer, into out: inout ModelOutput) {
        var pos = 0
        var lastWasUnk = false
        for k in 0..<s.ids.count {
            let id = s.ids[k], len = Int(s.lens[k])
            defer { pos += len }
            if isOutput(id) {
                out.append(id, (base + pos)..<(base + pos + len))
                lastWasUnk = false
                continue
            }
            if options.byteFallback {
                // Each byte token covers the whole character it spells part of (Hugging Face's offsets).
                for b in pos..<(pos + len) { out.append(byteIDs[Int(piece[b])], (base + pos)..<(base + pos + len)) }
                lastWasUnk = false
            } else if let unk = options.unkID {
                if options.fuseUnk && lastWasUnk, let last = out.ranges.last {
                    out.ranges[out.ranges.count - 1] = last.lowerBound..<(base + pos + len)
                } else {
                    out.append(unk, (base + pos)..<(base + pos + len))
                }
                lastWasUnk = true
            }
        }
    }
}

/// A candidate merge, ordered by (priority, position): the best pair first, the leftmost on ties.
struct MergeCandidate: HeapElement {
    var priority: Float
    var position: Int
    var left: Int32
    var right: Int32
    var merged: Int32
    @inline(__always) func before(_ o: MergeCandidate) -> Bool {
        priority < o.priority || (priority == o.priority && position < o.position)
    }
}

/// Tokens found in one piece: ids and the byte range (in the normalized text) each one covers.
struct ModelOutput: Sendable {
    var ids: [Int32] = []
    var ranges: [Range<Int>] = []
    /// Indices of tokens spelled by their text rather than their vocabulary entry (a Unigram
    /// unknown piece is `<unk>` by id but keeps its characters as token, as Hugging Face does).
    var spelledByText: [Int] = []

    @inline(__always)
    mutating func append(_ id: Int32, _ range: Range<Int>) {
        ids.append(id)
        ranges.append(range)
    }
}

/// Scratch state a model may keep for the length of one encoding call (BPE's piece cache). One per
/// thread: models themselves are immutable and shared.
class ModelScratch {}

/// The third stage of a tokenizer: turns each piece into vocabulary ids.
protocol TokenizerModel: AnyObject, Sendable {
    /// Number of ids (the largest id + 1).
    var vocabSize: Int { get }
    /// The id of a token string as the vocabulary spells it.
    func id(of token: String) -> Int?
    /// The vocabulary spelling of an id.
    func token(of id: Int) -> String?
    /// The text bytes an id stands for, before the decoder's rewriting (byte-level BPE: raw bytes).
    func bytes(of id: Int) -> [UInt8]?
    func makeScratch() -> ModelScratch?
    /// Tokenizes the piece `p[range]`, appending ids with absolute byte ranges.
    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: ModelScratch?, into out: inout ModelOutput)
    /// Tokenizes every piece in order (models with per-call state override this to hoist it).
    func tokenizePieces(_ p: UnsafeBufferPointer<UInt8>, _ pieces: [Range<Int>], scratch: ModelScratch?, into out: inout ModelOutput)
}

extension TokenizerModel {
    func tokenizePieces(_ p: UnsafeBufferPointer<UInt8>, _ pieces: [Range<Int>], scratch: ModelScratch?, into out: inout ModelOutput) {
        for r in pieces { tokenize(p, r, scratch: scratch, into: &out) }
    }
}

/// The `tokenizer.json` model types LMKit reads.
enum ModelType: String {
    case bpe = "BPE", wordPiece = "WordPiece", unigram = "Unigram", wordLevel = "WordLevel"
}

/// GPT-2's map from bytes to printable characters (openai/gpt-2 `bytes_to_unicode`): printable
/// Latin-1 bytes stand for themselves, the other 68 bytes for U+0100 onwards, so that a byte-level
/// vocabulary can be stored as text ("Ġ" is the space byte 0x20).
enum ByteUnicode {
    static let characters: [Unicode.Scalar] = {
        var bs: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()

    static let bytesByCharacter: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for (b, c) in characters.enumerated() { d[c.value] = UInt8(b) }
        return d
    }()

    /// The printable spelling of raw bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(characters[Int(b)]) }
        return String(s)
    }

    /// The raw bytes of a printable spelling, or nil when a character is outside the 256.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            guard let b = bytesByCharacter[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}

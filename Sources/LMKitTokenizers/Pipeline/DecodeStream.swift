/// Decodes ids one at a time as a generator produces them, returning only text that is final: a
/// byte-level or byte-fallback token can end inside a UTF-8 character, and decoders such as
/// SentencePiece's drop the space of the first token only, so the text of a growing sequence is not
/// the concatenation of each token's text. The stream decodes a short window of recent ids and emits
/// what it adds beyond the window's previous text (the method of Hugging Face's `DecodeStream`).
///
/// ```swift
/// var stream = tokenizer.decodeStream()
/// for id in generatedIDs { if let text = try stream.step(id) { print(text, terminator: "") } }
/// ```
public struct DecodeStream: Sendable {
    let tokenizer: Tokenizer
    let skipSpecialTokens: Bool
    private var ids: [Int] = []
    /// Start of the window; the text of `ids[prefixStart..<readStart]` was already emitted.
    private var prefixStart = 0
    private var readStart = 0

    init(tokenizer: Tokenizer, skipSpecialTokens: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns new final text, or nil while the text is incomplete.
    public mutating func step(_ id: Int) throws(TokenizerError) -> String? {
        ids.append(id)
        let prefix = try tokenizer.decode(
            Array(ids[prefixStart..<readStart]), skipSpecialTokens: skipSpecialTokens, continuing: prefixStart > 0)
        let full = try tokenizer.decode(Array(ids[prefixStart...]), skipSpecialTokens: skipSpecialTokens, continuing: prefixStart > 0)
        guard full.unicodeScalars.count > prefix.unicodeScalars.count, full.unicodeScalars.last != "\u{FFFD}",
            full.unicodeScalars.starts(with: prefix.unicodeScalars)
        else {
            return nil
        }
        var added = String.UnicodeScalarView()
        added.append(contentsOf: full.unicodeScalars.dropFirst(prefix.unicodeScalars.count))
        prefixStart = readStart
        readStart = ids.count
        return String(added)
    }

    /// Whatever is still held back (an incomplete character decodes as U+FFFD); ends the stream.
    public mutating func finish() throws(TokenizerError) -> String {
        let prefix = try tokenizer.decode(
            Array(ids[prefixStart..<readStart]), skipSpecialTokens: skipSpecialTokens, continuing: prefixStart > 0)
        let full = try tokenizer.decode(Array(ids[prefixStart...]), skipSpecialTokens: skipSpecialTokens, continuing: prefixStart > 0)
        prefixStart = ids.count
        readStart = ids.count
        guard full.unicodeScalars.starts(with: prefix.unicodeScalars) else { return full }
        var rest = String.UnicodeScalarView()
        rest.append(contentsOf: full.unicodeScalars.dropFirst(prefix.unicodeScalars.count))
        return String(rest)
    }
}

extension Tokenizer {
    /// A stream that turns ids into text as they come (see ``DecodeStream``).
    public func decodeStream(skipSpecialTokens: Bool = true) -> DecodeStream {
        DecodeStream(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
    }
}

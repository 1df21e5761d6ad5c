/// The result of tokenizing one text (or a pair of texts): what a model consumes, with everything
/// needed to map tokens back to the text.
///
/// All arrays have one entry per token. Offsets are UTF-8 byte ranges in the original text (in the
/// second text for the tokens of a pair's second sequence); tokens added by post-processing
/// (`[CLS]`, `[SEP]`, `<bos>`) and padding have the empty range `0..<0`.
public struct Encoding: Sendable, Equatable {
    /// Token ids.
    public var ids: [Int]
    /// Token strings as the vocabulary spells them (`"##ing"`, `"Ġthe"`, `"▁the"`, `"<0x0A>"`).
    public var tokens: [String]
    /// UTF-8 byte range of each token in its source text.
    public var offsets: [Range<Int>]
    /// Segment of each token: 0 for the first text, 1 for the second of a pair (BERT's token types).
    public var typeIds: [Int]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int]
    /// 1 for tokens added by post-processing or padding, 0 for tokens of the text.
    public var specialTokensMask: [Int]
    /// Which text each token came from: 0, 1 (pair), nil for added and padding tokens.
    public var sequenceIds: [Int?]
    /// The tokens cut off by truncation, as further encodings (empty when nothing was cut).
    public var overflowing: [Encoding]

    /// An encoding with no tokens, to append to.
    public init() {
        ids = []; tokens = []; offsets = []; typeIds = []; attentionMask = []
        specialTokensMask = []; sequenceIds = []; overflowing = []
    }

    /// Number of tokens.
    public var count: Int { ids.count }

    mutating func append(id: Int, token: String, offset: Range<Int>, typeId: Int, special: Bool, sequence: Int?) {
        ids.append(id); tokens.append(token); offsets.append(offset); typeIds.append(typeId)
        attentionMask.append(1); specialTokensMask.append(special ? 1 : 0); sequenceIds.append(sequence)
    }

    mutating func append(contentsOf other: Encoding) {
        ids += other.ids; tokens += other.tokens; offsets += other.offsets; typeIds += other.typeIds
        attentionMask += other.attentionMask; specialTokensMask += other.specialTokensMask
        sequenceIds += other.sequenceIds
    }

    /// The tokens `range`, as an encoding of its own.
    func slice(_ range: Range<Int>) -> Encoding {
        var e = Encoding()
        e.ids = Array(ids[range]); e.tokens = Array(tokens[range]); e.offsets = Array(offsets[range])
        e.typeIds = Array(typeIds[range]); e.attentionMask = Array(attentionMask[range])
        e.specialTokensMask = Array(specialTokensMask[range]); e.sequenceIds = Array(sequenceIds[range])
        return e
    }
}

/// A tokenizer failure that a user can act on: a malformed file, an unsupported component, a text
/// that contains a special token it was not allowed to contain.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message: what is wrong and, where known, where.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// What to do when the text contains the spelling of a special token such as `<|endoftext|>`.
///
/// A text from a user that contains `<|endoftext|>` is not the end-of-text marker: treating it as
/// one lets input forge control tokens (prompt injection). tiktoken and minbpe therefore refuse it
/// unless the caller allows it; LMKit does the same by default.
public enum SpecialTokenPolicy: String, Sendable, CaseIterable {
    /// Throw an error naming the special token found in the text (the default, as tiktoken).
    case reject
    /// Encode it as the special token's id (Hugging Face `tokenizers` behaviour).
    case allow
    /// Encode its characters as ordinary text (tiktoken's `encode_ordinary`, sentencepiece).
    case text
}

/// Options for one encoding call.
public struct EncodeOptions: Sendable {
    /// Whether to add the post-processor's tokens (`[CLS] … [SEP]`, `<bos>`).
    public var addSpecialTokens: Bool
    /// What to do with special-token spellings inside the text.
    public var specialTokens: SpecialTokenPolicy

    /// Options adding the post-processor's tokens and rejecting special-token spellings by default.
    public init(addSpecialTokens: Bool = true, specialTokens: SpecialTokenPolicy = .reject) {
        self.addSpecialTokens = addSpecialTokens
        self.specialTokens = specialTokens
    }
}

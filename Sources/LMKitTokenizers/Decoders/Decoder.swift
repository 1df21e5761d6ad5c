/// The last stage of a tokenizer, for going back: rewrites the token strings of a sequence of ids
/// into text (`"Ġworld"` → `" world"`, `"##ing"` glued to the previous token, `"▁"` → `" "`).
protocol Decoder: Sendable {
    /// `continuing`: the tokens continue a text already decoded (a streaming window), so the
    /// start-of-text rules (dropping the first token's space, no space before the first word) do not apply.
    func decode(_ tokens: [String], continuing: Bool) -> [String]
}

enum DecoderType: String {
    case byteLevel = "ByteLevel", wordPiece = "WordPiece", metaspace = "Metaspace", replace = "Replace"
    case byteFallback = "ByteFallback", fuse = "Fuse", strip = "Strip", bpe = "BPEDecoder", sequence = "Sequence"

    static func make(_ o: JSONObject) throws(TokenizerError) -> any Decoder {
        guard let name = o.type, let type = DecoderType(rawValue: name) else {
            throw o.unsupported("decoder type \(o.type.map { "\"\($0)\"" } ?? "(none)")")
        }
        switch type {
        case .byteLevel: return ByteLevelDecoder()
        case .wordPiece:
            return WordPieceDecoder(prefix: try o.string("prefix", default: "##")!, cleanup: try o.bool("cleanup", default: true))
        case .metaspace:
            var scheme = try o.string("prepend_scheme", default: nil)
            if scheme == nil { scheme = try o.bool("add_prefix_space", default: true) ? "always" : "never" }
            return MetaspaceDecoder(replacement: try o.string("replacement", default: "▁")!, stripFirstSpace: scheme != "never")
        case .replace:
            guard case .string(let pattern) = try JSONPattern(o.dict["pattern"], path: o.path + ".pattern") else {
                throw o.unsupported("Replace decoder with a regular-expression pattern")
            }
            return ReplaceDecoder(pattern: pattern, content: try o.string("content"))
        case .byteFallback: return ByteFallbackDecoder()
        case .fuse: return FuseDecoder()
        case .strip:
            return StripDecoder(
                content: Character(try o.string("content", default: " ")!),
                start: try o.int("start", default: 0)!, stop: try o.int("stop", default: 0)!)
        case .bpe: return BPESuffixDecoder(suffix: try o.string("suffix", default: "</w>")!)
        case .sequence:
            return SequenceDecoder(steps: try o.objects("decoders").map { (d) throws(TokenizerError) in try make(d) })
        }
    }
}

struct SequenceDecoder: Decoder {
    let steps: [any Decoder]
    func decode(_ tokens: [String], continuing: Bool) -> [String] { steps.reduce(tokens) { $1.decode($0, continuing: continuing) } }
}

/// Printable byte spellings back to bytes, then UTF-8 (invalid sequences become U+FFFD).
struct ByteLevelDecoder: Decoder {
    func decode(_ tokens: [String], continuing: Bool) -> [String] {
        var bytes: [UInt8] = []
        for t in tokens { bytes += ByteUnicode.decode(t) ?? Array(t.utf8) }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

struct WordPieceDecoder: Decoder {
    let prefix: String
    let cleanup: Bool
    func decode(_ tokens: [String], continuing: Bool) -> [String] {
        tokens.enumerated().map { i, t in
            var t = t
            if i != 0 || continuing {
                if t.hasPrefix(prefix) { t.removeFirst(prefix.count) } else { t = " " + t }
            }
            return cleanup ? WordPieceDecoder.cleanUp(t) : t
        }
    }

    /// Undoes the spaces BERT's tokenization puts before punctuation and contractions.
    static func cleanUp(_ s: String) -> String {
        var s = s
        for (a, b) in [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ] {
            s = s.replacingAll(a, with: b)
        }
        return s
    }
}

struct MetaspaceDecoder: Decoder {
    let replacement: String
    let stripFirstSpace: Bool
    func decode(_ tokens: [String], continuing: Bool) -> [String] {
        tokens.enumerated().map { i, t in
            var s = t.replacingAll(replacement, with: " ")
            if i == 0 && !continuing && stripFirstSpace && s.hasPrefix(" ") { s.removeFirst() }
            return s
        }
    }
}

struct ReplaceDecoder: Decoder {
    let pattern: String, content: String
    func decode(_ tokens: [String], continuing: Bool) -> [String] { tokens.map { $0.replacingAll(pattern, with: content) } }
}

/// Runs of `<0xXX>` tokens back to the text their bytes spell (U+FFFD per byte when invalid).
struct ByteFallbackDecoder: Decoder {
    static func byteValue(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    func decode(_ tokens: [String], continuing: Bool) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) {
                out.append(s)
            } else {
                out += Array(repeating: "\u{FFFD}", count: pending.count)
            }
            pending.removeAll()
        }
        for t in tokens {
            if let b = ByteFallbackDecoder.byteValue(t) { pending.append(b) } else { flush(); out.append(t) }
        }
        flush()
        return out
    }
}

struct FuseDecoder: Decoder {
    func decode(_ tokens: [String], continuing: Bool) -> [String] { [tokens.joined()] }
}

struct StripDecoder: Decoder {
    let content: Character, start: Int, stop: Int
    func decode(_ tokens: [String], continuing: Bool) -> [String] {
        tokens.map { t in
            var chars = Array(t)
            var lo = 0
            while !continuing && lo < min(start, chars.count) && chars[lo] == content { lo += 1 }
            var hi = chars.count
            var removed = 0
            while removed < stop && hi > lo && chars[hi - 1] == content { hi -= 1; removed += 1 }
            chars = Array(chars[lo..<hi])
            return String(chars)
        }
    }
}

struct BPESuffixDecoder: Decoder {
    let suffix: String
    func decode(_ tokens: [String], continuing: Bool) -> [String] {
        tokens.enumerated().map { i, t in t.replacingAll(suffix, with: i == tokens.count - 1 ? "" : " ") }
    }
}

extension String {
    /// Every occurrence of `target` replaced (literal, left to right), without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        let t = Array(target.utf8)
        let u = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            if i + t.count <= u.count && u[i] == t[0] && u[i..<(i + t.count)].elementsEqual(t) {
                out += replacement.utf8
                i += t.count
            } else {
                out.append(u[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

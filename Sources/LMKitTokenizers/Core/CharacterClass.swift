/// Unicode character classes that tokenizers test on every character, looked up in a table.
///
/// The reference implementations classify characters by Unicode general category (`\p{L}`, `\p{N}`,
/// Python's `str.isalnum`, BERT's `_is_punctuation`) and by the White_Space property (`\s`). Asking
/// `Unicode.Scalar.Properties` each time costs a table walk per call; here the Basic Multilingual Plane
/// is classified once into a 64K table and other planes are asked directly.
struct CharacterClass: OptionSet, Sendable {
    let rawValue: UInt16

    /// General category L* (`\p{L}`).
    static let letter = CharacterClass(rawValue: 1 << 0)
    /// General category N* (`\p{N}`).
    static let number = CharacterClass(rawValue: 1 << 1)
    /// The Unicode White_Space property (`\s` of tiktoken, Oniguruma, Rust's `char::is_whitespace`).
    static let whitespace = CharacterClass(rawValue: 1 << 2)
    /// General category P*.
    static let punctuation = CharacterClass(rawValue: 1 << 3)
    /// General category S*.
    static let symbol = CharacterClass(rawValue: 1 << 4)
    /// General category Mn (what BERT's accent stripping removes after NFD).
    static let nonspacingMark = CharacterClass(rawValue: 1 << 5)
    /// General category M*.
    static let mark = CharacterClass(rawValue: 1 << 6)
    /// General category C* (Cc, Cf, Cn, Co, Cs): BERT's "control" test.
    static let other = CharacterClass(rawValue: 1 << 7)
    /// General category Nd.
    static let decimal = CharacterClass(rawValue: 1 << 8)
    /// The Uppercase property (Python's `str.isupper` on one character).
    static let upper = CharacterClass(rawValue: 1 << 9)
    /// The Lowercase property (Python's `str.islower` on one character).
    static let lower = CharacterClass(rawValue: 1 << 10)
    /// `\w` of Python's `regex` module: Alphabetic, marks, Nd, Pc, Join_Control.
    static let word = CharacterClass(rawValue: 1 << 11)
    /// General category Pc.
    static let connector = CharacterClass(rawValue: 1 << 12)

    private static let bmp: [CharacterClass] = (0..<0x10000).map { v in
        guard let s = Unicode.Scalar(UInt32(v)) else { return .other }  // surrogates: Cs
        return compute(s)
    }

    @inline(__always)
    static func of(_ s: Unicode.Scalar) -> CharacterClass {
        let v = s.value
        if v < 0x10000 { return bmp.withUnsafeBufferPointer { $0[Int(v)] } }
        return compute(s)
    }

    static func compute(_ s: Unicode.Scalar) -> CharacterClass {
        let p = s.properties
        var c: CharacterClass = []
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: c.insert(.letter)
        case .decimalNumber: c.formUnion([.number, .decimal])
        case .letterNumber, .otherNumber: c.insert(.number)
        case .connectorPunctuation: c.formUnion([.punctuation, .connector])
        case .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: c.insert(.symbol)
        case .nonspacingMark: c.formUnion([.mark, .nonspacingMark])
        case .spacingMark, .enclosingMark: c.insert(.mark)
        case .control, .format, .surrogate, .privateUse, .unassigned: c.insert(.other)
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: break
        @unknown default: break
        }
        if p.isWhitespace { c.insert(.whitespace) }
        if p.isUppercase { c.insert(.upper) }
        if p.isLowercase { c.insert(.lower) }
        if p.isAlphabetic || c.contains(.mark) || c.contains(.decimal) || c.contains(.connector) || p.isJoinControl {
            c.insert(.word)
        }
        return c
    }
}

extension Unicode.Scalar {
    @inline(__always) var characterClass: CharacterClass { CharacterClass.of(self) }
}

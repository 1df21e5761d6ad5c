/// What a trained Punkt model knows about a language: NLTK's `PunktParameters`.
///
/// Reference: Kiss & Strunk (2006), "Unsupervised Multilingual Sentence Boundary Detection",
/// Computational Linguistics 32:485–525; NLTK 3.10.4 `nltk/tokenize/punkt.py`.
///
/// The model is read from a Python module of literals (`punkt/english.py` in the asset cache):
///
///     let params = try PunktParameters(pythonFile: home + "/punkt/english.py")
///     params.abbreviations.contains("dr")        // true: "Dr." does not end a sentence
///     params.orthographicContext["the"]          // how "the" was seen cased in training
public struct PunktParameters: Sendable {
    /// A pair of word types seen together across a period that is not a sentence break
    /// (`("s.", "bach")` in a text about Johann S. Bach), lowercased, periods removed.
    public struct Collocation: Hashable, Sendable {
        /// The type before the period (`"b"` in "B. Smith").
        public var first: String
        /// The type after it (`"smith"`).
        public var second: String

        /// A collocation of two lowercased word types.
        public init(_ first: String, _ second: String) {
            self.first = first
            self.second = second
        }
    }

    /// Lowercased abbreviation types without their final period (`"dr"`, `"u.s"`): `ABBREV_TYPES`.
    public var abbreviations: Set<String>
    /// Known collocations: `COLLOCATIONS`.
    public var collocations: Set<Collocation>
    /// Lowercased types that often start a sentence (`"but"`, `"however"`): `SENT_STARTERS`.
    public var sentenceStarters: Set<String>
    /// For each lowercased type, the bit set of orthographic contexts it was seen in (bits 1–6:
    /// upper case at the beginning / middle / unknown position, then the same for lower case):
    /// `ORTHO_CONTEXT`. A type that is absent counts as 0, as with NLTK's `defaultdict(int)`.
    public var orthographicContext: [String: Int]
    /// `NUMERIC_ABBREV_TYPES`, kept as read: NLTK 3.10.4's tokenizer does not consult them.
    public var numericAbbreviations: Set<String>

    /// Parameters given directly (an empty model splits at every `.`, `?` and `!` before a space).
    public init(
        abbreviations: Set<String> = [], collocations: Set<Collocation> = [],
        sentenceStarters: Set<String> = [], orthographicContext: [String: Int] = [:],
        numericAbbreviations: Set<String> = []
    ) {
        self.abbreviations = abbreviations
        self.collocations = collocations
        self.sentenceStarters = sentenceStarters
        self.orthographicContext = orthographicContext
        self.numericAbbreviations = numericAbbreviations
    }

    /// Reads a model written as Python literals (`ABBREV_TYPES = frozenset((...))`, `SENT_STARTERS`,
    /// `COLLOCATIONS`, `ORTHO_CONTEXT = {...}`, optional `NUMERIC_ABBREV_TYPES`).
    ///
    /// - Throws: `TokenizerError` naming the file, the line and what was wrong when the file is
    ///   missing, is not this literal format, lacks one of the four tables or has a value of the
    ///   wrong shape.
    public init(pythonFile path: String) throws {
        let file = try PythonLiteralFile(path: path)
        self.init(
            abbreviations: try Self.strings(file, "ABBREV_TYPES"),
            collocations: try Self.collocations(file),
            sentenceStarters: try Self.strings(file, "SENT_STARTERS"),
            orthographicContext: try Self.orthography(file),
            numericAbbreviations: try Self.strings(file, "NUMERIC_ABBREV_TYPES", required: false))
    }

    private static func table(_ file: PythonLiteralFile, _ name: String, required: Bool = true) throws -> (PythonLiteral, Int)? {
        guard let entry = file.values[name] else {
            if !required { return nil }
            throw TokenizerError("\(file.path): no \(name) in this Punkt model (expected `\(name) = ...`)")
        }
        return (entry.value, entry.line)
    }

    private static func strings(_ file: PythonLiteralFile, _ name: String, required: Bool = true) throws -> Set<String> {
        guard let (value, line) = try table(file, name, required: required) else { return [] }
        guard case .frozenset(let items) = value else {
            throw TokenizerError("\(file.path):\(line): \(name) must be a frozenset((...)) of strings, found \(value.kind)")
        }
        var out = Set<String>()
        for item in items {
            guard case .string(let s) = item else {
                throw TokenizerError("\(file.path):\(line): \(name) must hold only strings, found \(item.kind)")
            }
            out.insert(s)
        }
        return out
    }

    private static func collocations(_ file: PythonLiteralFile) throws -> Set<Collocation> {
        guard let (value, line) = try table(file, "COLLOCATIONS") else { return [] }
        guard case .frozenset(let items) = value else {
            throw TokenizerError("\(file.path):\(line): COLLOCATIONS must be a frozenset((...)) of pairs, found \(value.kind)")
        }
        var out = Set<Collocation>()
        for item in items {
            guard case .tuple(let pair) = item, pair.count == 2,
                case .string(let a) = pair[0], case .string(let b) = pair[1]
            else {
                throw TokenizerError("\(file.path):\(line): COLLOCATIONS must hold pairs of strings ('a','b'), found \(item.kind)")
            }
            out.insert(Collocation(a, b))
        }
        return out
    }

    private static func orthography(_ file: PythonLiteralFile) throws -> [String: Int] {
        guard let (value, line) = try table(file, "ORTHO_CONTEXT") else { return [:] }
        guard case .dict(let items) = value else {
            throw TokenizerError("\(file.path):\(line): ORTHO_CONTEXT must be a dict {'type': flags, ...}, found \(value.kind)")
        }
        var out: [String: Int] = [:]
        for (key, flags) in items {
            guard case .string(let k) = key, case .int(let v) = flags else {
                throw TokenizerError("\(file.path):\(line): ORTHO_CONTEXT must map strings to integers, found \(key.kind): \(flags.kind)")
            }
            out[k] = v
        }
        return out
    }
}

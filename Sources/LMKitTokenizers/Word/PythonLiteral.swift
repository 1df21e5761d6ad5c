import Foundation

/// A value written as a Python literal in a model file such as `punkt/english.py`.
///
/// Only what those files use is accepted: single- or double-quoted strings (no prefixes), decimal
/// integers, tuples, `frozenset((...))` and dicts. Anything else is an error that names the file,
/// the line and what was expected, so a model file edited by hand fails loudly instead of loading
/// half a model.
enum PythonLiteral: Sendable {
    case string(String)
    case int(Int)
    case tuple([PythonLiteral])
    case frozenset([PythonLiteral])
    case dict([(key: PythonLiteral, value: PythonLiteral)])

    /// What the value is, for error messages ("a string", "a tuple of 2 values").
    var kind: String {
        switch self {
        case .string: return "a string"
        case .int: return "an integer"
        case .tuple(let items): return "a tuple of \(items.count) values"
        case .frozenset: return "a frozenset"
        case .dict: return "a dict"
        }
    }
}

/// Reads a Python module made only of literal assignments (`NAME = literal`), optionally opened by a
/// docstring, with blank lines and `#` comments between statements.
///
///     LANGUAGE = 'english'
///     ABBREV_TYPES = frozenset(('dr','mr',))
///     ORTHO_CONTEXT = {'the':98,}
struct PythonLiteralFile {
    /// The assignments, by name, with the line each one starts on.
    private(set) var values: [String: (value: PythonLiteral, line: Int)] = [:]
    let path: String

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError("\(path): cannot read the file (missing or unreadable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError("\(path): the file is not valid UTF-8")
        }
        try self.init(source: text, path: path)
    }

    init(source: String, path: String) throws {
        self.path = path
        var p = PythonLiteralParser(source: source, path: path)
        while true {
            p.skipBlankLinesAndComments()
            if p.atEnd { break }
            let line = p.line
            if p.peek == "'" || p.peek == "\"" {
                _ = try p.string()  // a docstring: an expression statement with no effect
            } else {
                let name = try p.identifier()
                p.skipSpaces()
                try p.expect("=", "'=' after \(name)")
                let value = try p.literal()
                if values[name] != nil { throw p.error("\(name) is assigned twice", line: line) }
                values[name] = (value, line)
            }
            try p.endOfStatement()
        }
    }
}

/// A recursive-descent reader over the file's code points, tracking the line for error messages.
struct PythonLiteralParser {
    private let s: [Unicode.Scalar]
    private var i = 0
    private(set) var line = 1
    private var depth = 0  // inside (), {}: newlines are not statement ends there, as in Python
    let path: String

    init(source: String, path: String) {
        s = Array(source.unicodeScalars)
        self.path = path
    }

    var atEnd: Bool { i >= s.count }
    var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

    func error(_ message: String, line: Int? = nil) -> TokenizerError {
        TokenizerError("\(path):\(line ?? self.line): \(message)")
    }

    private var found: String {
        guard let c = peek else { return "the end of the file" }
        if c == "\n" { return "the end of the line" }
        return "'\(c)'"
    }

    private mutating func advance() {
        if s[i] == "\n" { line += 1 }
        i += 1
    }

    /// Skips spaces and tabs; inside brackets also newlines and comments.
    mutating func skipSpaces() {
        while let c = peek {
            if c == " " || c == "\t" || c == "\r" || (depth > 0 && c == "\n") {
                advance()
            } else if c == "#" && depth > 0 {
                while let d = peek, d != "\n" { advance() }
            } else {
                break
            }
        }
    }

    mutating func skipBlankLinesAndComments() {
        while let c = peek {
            if c == " " || c == "\t" || c == "\r" || c == "\n" {
                advance()
            } else if c == "#" {
                while let d = peek, d != "\n" { advance() }
            } else {
                break
            }
        }
    }

    mutating func expect(_ c: Unicode.Scalar, _ what: String) throws {
        guard peek == c else { throw error("expected \(what), found \(found)") }
        advance()
    }

    mutating func endOfStatement() throws {
        skipSpaces()
        if peek == "#" { while let d = peek, d != "\n" { advance() } }
        guard atEnd || peek == "\n" else { throw error("expected the end of the statement, found \(found)") }
    }

    mutating func identifier() throws -> String {
        var name = String.UnicodeScalarView()
        while let c = peek,
            c == "_" || (c.value < 0x80 && c.properties.isAlphabetic) || (!name.isEmpty && c.value >= 0x30 && c.value <= 0x39)
        {
            name.append(c)
            advance()
        }
        guard !name.isEmpty else { throw error("expected a name (NAME = literal), found \(found)") }
        return String(name)
    }

    mutating func literal() throws -> PythonLiteral {
        skipSpaces()
        guard let c = peek else { throw error("expected a literal, found the end of the file") }
        switch c {
        case "'", "\"": return .string(try string())
        case "-", "0"..."9": return .int(try integer())
        case "(": return try parenthesized()
        case "{": return try dict()
        case "f":
            let name = try identifier()
            guard name == "frozenset" else { throw error("expected a literal, found the name '\(name)'") }
            skipSpaces()
            try expect("(", "'(' after frozenset")
            depth += 1
            skipSpaces()
            var items: [PythonLiteral] = []
            if peek != ")" {
                guard case .tuple(let t) = try literal() else {
                    throw error("expected a tuple inside frozenset(...)")
                }
                items = t
                skipSpaces()
            }
            depth -= 1
            try expect(")", "')' closing frozenset(")
            return .frozenset(items)
        default:
            throw error("expected a literal (string, integer, tuple, frozenset or dict), found \(found)")
        }
    }

    private mutating func integer() throws -> Int {
        var negative = false
        if peek == "-" { negative = true; advance() }
        var value = 0
        var digits = 0
        while let c = peek, c.value >= 0x30 && c.value <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c.value - 0x30))
            guard !o1 && !o2 else { throw error("integer too large") }
            value = a
            digits += 1
            advance()
        }
        guard digits > 0 else { throw error("expected digits, found \(found)") }
        return negative ? -value : value
    }

    /// `( )`, `(x)` (just x), `(x,)`, `(x, y, ...)`.
    private mutating func parenthesized() throws -> PythonLiteral {
        try expect("(", "'('")
        depth += 1
        var items: [PythonLiteral] = []
        var sawComma = false
        skipSpaces()
        while peek != ")" {
            items.append(try literal())
            skipSpaces()
            if peek == "," { advance(); sawComma = true; skipSpaces() } else { break }
        }
        depth -= 1
        try expect(")", "',' or ')' in a tuple")
        if items.count == 1 && !sawComma { return items[0] }
        return .tuple(items)
    }

    private mutating func dict() throws -> PythonLiteral {
        try expect("{", "'{'")
        depth += 1
        var items: [(key: PythonLiteral, value: PythonLiteral)] = []
        skipSpaces()
        while peek != "}" {
            let key = try literal()
            skipSpaces()
            try expect(":", "':' after a dict key")
            let value = try literal()
            items.append((key, value))
            skipSpaces()
            if peek == "," { advance(); skipSpaces() } else { break }
        }
        depth -= 1
        try expect("}", "',' or '}' in a dict")
        return .dict(items)
    }

    /// A quoted string with Python's escapes; `'''`/`"""` for docstrings.
    mutating func string() throws -> String {
        guard let quote = peek, quote == "'" || quote == "\"" else { throw error("expected a quote, found \(found)") }
        let startLine = line
        let triple = i + 2 < s.count && s[i + 1] == quote && s[i + 2] == quote
        for _ in 0..<(triple ? 3 : 1) { advance() }
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw error("string opened on line \(startLine) is never closed") }
            if c == quote {
                if !triple { advance(); break }
                if i + 2 < s.count && s[i + 1] == quote && s[i + 2] == quote {
                    for _ in 0..<3 { advance() }
                    break
                }
            }
            if c == "\n" && !triple { throw error("string opened on line \(startLine) runs past the end of the line") }
            if c == "\\" {
                advance()
                if let e = try escape() { out.append(e) }
                continue
            }
            out.append(c)
            advance()
        }
        return String(out)
    }

    /// The character an escape stands for (the backslash already read); nil for a line continuation.
    private mutating func escape() throws -> Unicode.Scalar? {
        guard let c = peek else { throw error("a backslash ends the file") }
        advance()
        switch c {
        case "\n": return nil
        case "\\", "'", "\"": return c
        case "a": return "\u{07}"
        case "b": return "\u{08}"
        case "f": return "\u{0C}"
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "v": return "\u{0B}"
        case "x": return try hexEscape(digits: 2)
        case "u": return try hexEscape(digits: 4)
        case "U": return try hexEscape(digits: 8)
        case "0"..."7":
            var v = c.value - 0x30
            for _ in 0..<2 {
                guard let d = peek, d.value >= 0x30 && d.value <= 0x37 else { break }
                v = v * 8 + d.value - 0x30
                advance()
            }
            return Unicode.Scalar(v) ?? "\u{FFFD}"  // at most \777 = U+01FF: always valid
        default:
            throw error("unsupported escape '\\\(c)' in a string")
        }
    }

    private mutating func hexEscape(digits: Int) throws -> Unicode.Scalar {
        var v: UInt32 = 0
        for _ in 0..<digits {
            guard let d = peek, let h = hexValue(d) else {
                throw error("expected \(digits) hexadecimal digits in an escape, found \(found)")
            }
            v = v * 16 + h
            advance()
        }
        guard let scalar = Unicode.Scalar(v) else { throw error("escape U+\(String(v, radix: 16)) is not a Unicode scalar") }
        return scalar
    }

    private func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }
}

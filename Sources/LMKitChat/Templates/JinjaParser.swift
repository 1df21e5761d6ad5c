/// Jinja2 source → syntax tree, with the whitespace rules Hugging Face renders chat templates with
/// (`trim_blocks` and `lstrip_blocks` on, `{%-`/`-%}` control). The statements and expressions are
/// the subset real chat templates use; anything else is an error that names the construct and line.

indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attribute(JinjaExpr, String)
    case index(JinjaExpr, JinjaExpr)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)])
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)])
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool)
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr)
    case conditional(JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr)
    case ifBlock([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode]?)
    case forBlock(targets: [String], iterable: JinjaExpr, condition: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode]?)
    case set(targets: [String], attribute: String?, JinjaExpr)
    case setBlock(String, [JinjaNode])
    case macro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode])
    case filterBlock(String, [JinjaExpr], [JinjaNode])
    case breakLoop, continueLoop
}

// MARK: - Splitting the source into text and tags

struct JinjaTag {
    enum Kind { case text, output, statement }
    let kind: Kind
    var content: String
    let line: Int
}

enum JinjaSplitter {
    static func split(_ source: String) throws(TemplateError) -> [JinjaTag] {
        let s = Array(source.unicodeScalars)
        var tags: [JinjaTag] = []
        var text = String.UnicodeScalarView()
        var i = 0, line = 1
        var trimNextNewline = false, stripNextWhitespace = false
        var textStart = 0
        /// Ends the current text: `-` control, trim_blocks (the newline after a block tag) and
        /// lstrip_blocks (spaces and tabs from a line's start up to a block tag), as Jinja2's lexer.
        func flushText(stripTrailing: Bool, lstrip: Bool) {
            var t = String(text)
            text = String.UnicodeScalarView()
            var startsLine = textStart == 0 || s[textStart - 1] == "\n"
            if stripNextWhitespace { t = String(t.drop(while: { $0.isWhitespace })); stripNextWhitespace = false }
            if trimNextNewline {
                if t.hasPrefix("\r\n") || t.hasPrefix("\n") { t.removeFirst(); startsLine = true }  // "\r\n" is one Character
                trimNextNewline = false
            }
            if stripTrailing {
                while let last = t.last, last.isWhitespace { t.removeLast() }
            } else if lstrip {
                let lastNewline = t.lastIndex(of: "\n")
                let tailStart = lastNewline.map { t.index(after: $0) } ?? t.startIndex
                if (lastNewline != nil || startsLine) && t[tailStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    t.removeSubrange(tailStart...)
                }
            }
            if !t.isEmpty { tags.append(JinjaTag(kind: .text, content: t, line: line)) }
        }
        while i < s.count {
            if s[i] == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" {
                let open = s[i + 1]
                let close: Unicode.Scalar = open == "{" ? "}" : open == "%" ? "%" : "#"
                var j = i + 2
                let minus = j < s.count && s[j] == "-", plus = j < s.count && s[j] == "+"
                if minus || plus { j += 1 }
                let tagLine = line
                // Find the closing "X}" outside string literals.
                var k = j, quote: Unicode.Scalar? = nil
                while k + 1 < s.count {
                    if let q = quote {
                        if s[k] == "\\" { k += 2; continue }
                        if s[k] == q { quote = nil }
                    } else if open != "#" && (s[k] == "'" || s[k] == "\"") {
                        quote = s[k]
                    } else if s[k] == close && s[k + 1] == "}" {
                        break
                    }
                    k += 1
                }
                guard k + 1 < s.count else { throw TemplateError("line \(tagLine): unclosed \("{" + String(open)) tag") }
                var end = k
                let trailingMinus = end > j && s[end - 1] == "-"
                if trailingMinus { end -= 1 }
                // The text before the tag: "{%-" strips all whitespace; block tags strip the line's indent.
                let isBlock = open != "{"
                flushText(stripTrailing: minus, lstrip: isBlock && !plus)
                let content = String(String.UnicodeScalarView(s[j..<end]))
                for c in s[i..<(k + 2)] where c == "\n" { line += 1 }
                if open == "{" { tags.append(JinjaTag(kind: .output, content: content, line: tagLine)) }
                if open == "%" { tags.append(JinjaTag(kind: .statement, content: content, line: tagLine)) }
                if trailingMinus { stripNextWhitespace = true } else if isBlock { trimNextNewline = true }
                i = k + 2
                textStart = i
                continue
            }
            if s[i] == "\n" { line += 1 }
            text.append(s[i])
            i += 1
        }
        flushText(stripTrailing: false, lstrip: false)
        return tags
    }
}

// MARK: - Expression tokens

enum JinjaToken: Equatable {
    case name(String), string(String), int(Int), double(Double), op(String), end
}

struct JinjaLexer {
    static let operators = [
        "==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "=",
    ]

    static func tokens(_ source: String, line: Int) throws(TemplateError) -> [JinjaToken] {
        let s = Array(source.unicodeScalars)
        var out: [JinjaToken] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            if c == "'" || c == "\"" {
                var value = String.UnicodeScalarView()
                var j = i + 1
                while j < s.count && s[j] != c {
                    if s[j] == "\\", j + 1 < s.count {
                        j += 1
                        switch s[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "u", "x":
                            let n = s[j] == "u" ? 4 : 2
                            guard j + n < s.count, let v = UInt32(String(String.UnicodeScalarView(s[(j + 1)...(j + n)])), radix: 16),
                                let scalar = Unicode.Scalar(v)
                            else { throw TemplateError("line \(line): bad escape in a string literal") }
                            value.append(scalar); j += n
                        case "\\", "'", "\"": value.append(s[j])
                        default: value.append("\\"); value.append(s[j])
                        }
                    } else {
                        value.append(s[j])
                    }
                    j += 1
                }
                guard j < s.count else { throw TemplateError("line \(line): unterminated string literal") }
                out.append(.string(String(value)))
                i = j + 1
                continue
            }
            if c.properties.numericType != nil && c.isASCII {
                var j = i
                while j < s.count && (s[j].isASCII && s[j].properties.numericType != nil || s[j] == "_") { j += 1 }
                var isFloat = false
                if j + 1 < s.count, s[j] == ".", s[j + 1].isASCII, s[j + 1].properties.numericType != nil {
                    isFloat = true; j += 1
                    while j < s.count && s[j].isASCII && s[j].properties.numericType != nil { j += 1 }
                }
                let text = String(String.UnicodeScalarView(s[i..<j])).replacingOccurrences(of: "_", with: "")
                out.append(isFloat ? .double(Double(text)!) : .int(Int(text) ?? 0))
                i = j
                continue
            }
            if c == "_" || c.properties.isAlphabetic {
                var j = i
                while j < s.count && (s[j] == "_" || s[j].properties.isAlphabetic || (s[j].isASCII && s[j].properties.numericType != nil)) {
                    j += 1
                }
                out.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
                continue
            }
            guard
                let op = operators.first(where: { op in
                    let o = Array(op.unicodeScalars)
                    return i + o.count <= s.count && Array(s[i..<(i + o.count)]) == o
                })
            else { throw TemplateError("line \(line): unexpected character \"\(c)\"") }
            out.append(.op(op))
            i += op.unicodeScalars.count
        }
        out.append(.end)
        return out
    }
}

// MARK: - Parser

struct JinjaParser {
    private var tags: [JinjaTag]
    private var position = 0

    init(_ source: String) throws(TemplateError) { tags = try JinjaSplitter.split(source) }

    /// The template's nodes.
    mutating func parse() throws(TemplateError) -> [JinjaNode] {
        let (nodes, end) = try parseNodes(until: [])
        if let end { throw TemplateError("line \(end.line): unexpected {% \(end.word) %}") }
        return nodes
    }

    /// Nodes up to one of the statements named in `until` (returned with its tokens), or the end.
    private mutating func parseNodes(until: Set<String>) throws(TemplateError) -> (
        [JinjaNode], (word: String, tokens: ExpressionStream, line: Int)?
    ) {
        var nodes: [JinjaNode] = []
        while position < tags.count {
            let tag = tags[position]
            position += 1
            switch tag.kind {
            case .text: nodes.append(.text(tag.content))
            case .output:
                var e = ExpressionStream(try JinjaLexer.tokens(tag.content, line: tag.line), line: tag.line)
                let expr = try e.expression()
                try e.expectEnd()
                nodes.append(.output(expr))
            case .statement:
                var e = ExpressionStream(try JinjaLexer.tokens(tag.content, line: tag.line), line: tag.line)
                guard case .name(let word) = e.next() else { throw TemplateError("line \(tag.line): empty or malformed {% %} statement") }
                if until.contains(word) { return (nodes, (word, e, tag.line)) }
                nodes.append(try statement(word, &e, line: tag.line))
            }
        }
        if let first = until.first(where: { $0.hasPrefix("end") }) { throw TemplateError("the template ends before {% \(first) %}") }
        return (nodes, nil)
    }

    private mutating func statement(_ word: String, _ e: inout ExpressionStream, line: Int) throws(TemplateError) -> JinjaNode {
        switch word {
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var condition = try e.expression()
            try e.expectEnd()
            while true {
                let (body, end) = try parseNodes(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard var end else { throw TemplateError("line \(line): {% if %} without {% endif %}") }
                switch end.word {
                case "elif": condition = try end.tokens.expression(); try end.tokens.expectEnd()
                case "else":
                    let (otherwise, close) = try parseNodes(until: ["endif"])
                    guard close != nil else { throw TemplateError("line \(line): {% if %} without {% endif %}") }
                    return .ifBlock(branches, otherwise: otherwise)
                default: return .ifBlock(branches, otherwise: nil)
                }
            }
        case "for":
            var targets = [try e.name()]
            while e.accept(.op(",")) { targets.append(try e.name()) }
            guard e.accept(.name("in")) else { throw TemplateError("line \(line): expected 'in' in {% for %}") }
            let iterable = try e.expression(allowConditional: false)
            let condition = e.accept(.name("if")) ? try e.expression() : nil
            if e.accept(.name("recursive")) { throw TemplateError("line \(line): recursive for loops are not supported") }
            try e.expectEnd()
            let (body, end) = try parseNodes(until: ["else", "endfor"])
            guard let end else { throw TemplateError("line \(line): {% for %} without {% endfor %}") }
            if end.word == "else" {
                let (otherwise, close) = try parseNodes(until: ["endfor"])
                guard close != nil else { throw TemplateError("line \(line): {% for %} without {% endfor %}") }
                return .forBlock(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise)
            }
            return .forBlock(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: nil)
        case "set":
            var targets = [try e.name()]
            var attribute: String?
            if e.accept(.op(".")) { attribute = try e.name() }
            while e.accept(.op(",")) { targets.append(try e.name()) }
            if e.accept(.op("=")) {
                let value = try e.expression()
                try e.expectEnd()
                return .set(targets: targets, attribute: attribute, value)
            }
            try e.expectEnd()
            let (body, end) = try parseNodes(until: ["endset"])
            guard end != nil, targets.count == 1, attribute == nil else {
                throw TemplateError("line \(line): {% set %} block without {% endset %}")
            }
            return .setBlock(targets[0], body)
        case "macro":
            let name = try e.name()
            try e.expect(.op("("))
            var parameters: [(String, JinjaExpr?)] = []
            while !e.accept(.op(")")) {
                let p = try e.name()
                parameters.append((p, e.accept(.op("=")) ? try e.expression() : nil))
                _ = e.accept(.op(","))
            }
            try e.expectEnd()
            let (body, end) = try parseNodes(until: ["endmacro"])
            guard end != nil else { throw TemplateError("line \(line): {% macro %} without {% endmacro %}") }
            return .macro(name: name, parameters: parameters, body: body)
        case "filter":
            let name = try e.name()
            var args: [JinjaExpr] = []
            if e.accept(.op("(")) {
                while !e.accept(.op(")")) { args.append(try e.expression()); _ = e.accept(.op(",")) }
            }
            try e.expectEnd()
            let (body, end) = try parseNodes(until: ["endfilter"])
            guard end != nil else { throw TemplateError("line \(line): {% filter %} without {% endfilter %}") }
            return .filterBlock(name, args, body)
        case "generation":
            // transformers' assistant-mask marker: the body renders as it is.
            try e.expectEnd()
            let (body, end) = try parseNodes(until: ["endgeneration"])
            guard end != nil else { throw TemplateError("line \(line): {% generation %} without {% endgeneration %}") }
            return .ifBlock([(.literal(.bool(true)), body)], otherwise: nil)
        case "break": try e.expectEnd(); return .breakLoop
        case "continue": try e.expectEnd(); return .continueLoop
        default:
            throw TemplateError(
                "line \(line): the statement {% \(word) %} is not supported (LMKit's Jinja subset: if, for, set, macro, filter, generation, break, continue)"
            )
        }
    }
}

/// Expression parsing over one tag's tokens, with Jinja2's precedence.
struct ExpressionStream {
    private var tokens: [JinjaToken]
    private var i = 0
    let line: Int

    init(_ tokens: [JinjaToken], line: Int) { self.tokens = tokens; self.line = line }

    var peek: JinjaToken { tokens[i] }
    mutating func next() -> JinjaToken { defer { if i < tokens.count - 1 { i += 1 } }; return tokens[i] }
    mutating func accept(_ t: JinjaToken) -> Bool { if peek == t { i += 1; return true }; return false }
    mutating func expect(_ t: JinjaToken) throws(TemplateError) { guard accept(t) else { throw unexpected("expected \(t)") } }
    mutating func expectEnd() throws(TemplateError) { guard peek == .end else { throw unexpected("expected the end of the tag") } }
    mutating func name() throws(TemplateError) -> String {
        guard case .name(let n) = peek else { throw unexpected("expected a name") }
        i += 1
        return n
    }
    func unexpected(_ what: String) -> TemplateError { TemplateError("line \(line): \(what), found \(peek)") }

    mutating func expression(allowConditional: Bool = true) throws(TemplateError) -> JinjaExpr {
        let value = try or()
        guard allowConditional, accept(.name("if")) else { return value }
        let condition = try or()
        return .conditional(value, condition: condition, otherwise: accept(.name("else")) ? try expression() : nil)
    }

    private mutating func or() throws(TemplateError) -> JinjaExpr {
        var left = try and()
        while accept(.name("or")) { left = .binary("or", left, try and()) }
        return left
    }

    private mutating func and() throws(TemplateError) -> JinjaExpr {
        var left = try not()
        while accept(.name("and")) { left = .binary("and", left, try not()) }
        return left
    }

    private mutating func not() throws(TemplateError) -> JinjaExpr {
        if accept(.name("not")) { return .unary("not", try not()) }
        return try compare()
    }

    private mutating func compare() throws(TemplateError) -> JinjaExpr {
        var left = try concat()
        while true {
            if case .op(let op) = peek, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                i += 1; left = .binary(op, left, try concat())
            } else if accept(.name("in")) {
                left = .binary("in", left, try concat())
            } else if peek == .name("not"), tokens[i + 1] == .name("in") {
                i += 2; left = .binary("not in", left, try concat())
            } else {
                return left
            }
        }
    }

    private mutating func concat() throws(TemplateError) -> JinjaExpr {
        var left = try sum()
        while accept(.op("~")) { left = .binary("~", left, try sum()) }
        return left
    }

    private mutating func sum() throws(TemplateError) -> JinjaExpr {
        var left = try product()
        while case .op(let op) = peek, op == "+" || op == "-" { i += 1; left = .binary(op, left, try product()) }
        return left
    }

    private mutating func product() throws(TemplateError) -> JinjaExpr {
        var left = try unary()
        while case .op(let op) = peek, ["*", "/", "//", "%"].contains(op) { i += 1; left = .binary(op, left, try unary()) }
        return left
    }

    private mutating func unary() throws(TemplateError) -> JinjaExpr {
        if accept(.op("-")) { return .unary("-", try unary()) }
        if accept(.op("+")) { return try unary() }
        var value = try postfix(try primary())
        // Filters and tests bind tighter than any operator.
        while true {
            if accept(.op("|")) {
                let name = try self.name()
                let (args, kwargs) = peek == .op("(") ? try arguments() : ([], [])
                value = .filter(value, name, args, kwargs)
                value = try postfix(value)
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                let name: String
                if case .name(let n) = peek {
                    name = n; i += 1
                } else if case .op(let o) = peek, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                    name = o; i += 1
                } else {
                    throw unexpected("expected a test name after 'is'")
                }
                var args: [JinjaExpr] = []
                if peek == .op("(") {
                    args = try arguments().0
                } else if case .string = peek {
                    args = [try primary()]
                } else if case .int = peek {
                    args = [try primary()]
                }
                value = .test(value, name, args, negated: negated)
            } else {
                return value
            }
        }
    }

    private mutating func primary() throws(TemplateError) -> JinjaExpr {
        let t = next()
        switch t {
        case .string(var s):
            while case .string(let more) = peek { s += more; i += 1 }  // adjacent literals join
            return .literal(.string(s))
        case .int(let v): return .literal(.int(v))
        case .double(let v): return .literal(.double(v))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .op("("):
            let first = try expression()
            if accept(.op(")")) { return first }
            var items = [first]
            while accept(.op(",")) { if peek == .op(")") { break }; items.append(try expression()) }
            try expect(.op(")"))
            return .list(items)
        case .op("["):
            var items: [JinjaExpr] = []
            while !accept(.op("]")) { items.append(try expression()); if !accept(.op(",")) { try expect(.op("]")); break } }
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !accept(.op("}")) {
                let key = try expression()
                try expect(.op(":"))
                pairs.append((key, try expression()))
                if !accept(.op(",")) { try expect(.op("}")); break }
            }
            return .dict(pairs)
        default:
            i -= 1
            throw unexpected("expected a value")
        }
    }

    private mutating func postfix(_ start: JinjaExpr) throws(TemplateError) -> JinjaExpr {
        var value = start
        while true {
            if accept(.op(".")) {
                if case .int(let index) = peek { i += 1; value = .index(value, .literal(.int(index))); continue }
                value = .attribute(value, try name())
            } else if accept(.op("[")) {
                var parts: [JinjaExpr?] = [nil]
                var sawColon = false
                while !accept(.op("]")) {
                    if accept(.op(":")) { sawColon = true; parts.append(nil); continue }
                    parts[parts.count - 1] = try expression()
                }
                if sawColon {
                    while parts.count < 3 { parts.append(nil) }
                    value = .slice(value, parts[0], parts[1], parts[2])
                } else {
                    guard let index = parts[0] else { throw unexpected("empty subscript") }
                    value = .index(value, index)
                }
            } else if peek == .op("(") {
                let (args, kwargs) = try arguments()
                value = .call(value, args, kwargs)
            } else {
                return value
            }
        }
    }

    private mutating func arguments() throws(TemplateError) -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expect(.op("("))
        var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
        while !accept(.op(")")) {
            if case .name(let n) = peek, tokens[i + 1] == .op("=") {
                i += 2
                kwargs.append((n, try expression()))
            } else {
                args.append(try expression())
            }
            if !accept(.op(",")) { try expect(.op(")")); break }
        }
        return (args, kwargs)
    }
}

import Foundation

/// A parsed Jinja2 template, rendered the way Hugging Face renders chat templates (transformers'
/// `render_jinja_template`: sandboxed, `trim_blocks`, `lstrip_blocks`, loop controls, the globals
/// `raise_exception` and `strftime_now`, its `tojson`).
///
/// The subset is what real chat templates use: `if`/`elif`/`else`, `for` (with `else`, a filter
/// condition, tuple targets and `loop.*`), `set` (also `ns.attr` on a `namespace()`), `macro`,
/// `filter` blocks, `break`/`continue`, `generation`; Python-like expressions with string methods
/// (`strip`, `split`, `startswith`, …), dictionary methods (`items`, `get`, …), slicing, `~`, `in`,
/// inline `if`; the common filters and tests. A construct outside it is an error naming it.
public struct JinjaTemplate: Sendable {
    let nodes: [JinjaNode]

    /// Parses `source`; throws on a syntax error or a construct outside the supported subset.
    public init(_ source: String) throws(TemplateError) {
        var parser = try JinjaParser(source)
        nodes = try parser.parse()
    }

    /// Renders with `context` as the template's variables (JSON-like values: see ``JinjaValue``).
    /// `now` is what `strftime_now` formats.
    public func render(_ context: [String: JinjaValue], now: Date = Date()) throws(TemplateError) -> String {
        var r = JinjaRenderer(now: now)
        r.scopes = [context]
        var out = ""
        _ = try r.run(nodes, into: &out)
        return out
    }
}

extension JinjaNode: @unchecked Sendable {}

// MARK: - Rendering

struct JinjaRenderer {
    enum Flow { case normal, breakLoop, continueLoop }
    struct Macro { let parameters: [(String, JinjaExpr?)]; let body: [JinjaNode] }

    var scopes: [[String: JinjaValue]] = []
    var macros: [String: Macro] = [:]
    let now: Date

    init(now: Date) { self.now = now }

    static let functions: Set<String> = ["raise_exception", "strftime_now", "range", "namespace", "dict"]

    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        if macros[name] != nil || Self.functions.contains(name) { return .function(name) }
        return .undefined
    }

    mutating func assign(_ name: String, _ value: JinjaValue) { scopes[scopes.count - 1][name] = value }

    mutating func run(_ nodes: [JinjaNode], into out: inout String) throws(TemplateError) -> Flow {
        for node in nodes {
            switch node {
            case .text(let t): out += t
            case .output(let e): out += try eval(e).text
            case .ifBlock(let branches, let otherwise):
                var taken = false
                for (condition, body) in branches where try eval(condition).truthy {
                    taken = true
                    let flow = try run(body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken, let otherwise {
                    let flow = try run(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case .forBlock(let targets, let iterable, let condition, let body, let otherwise):
                try runFor(targets, iterable, condition, body, otherwise, into: &out)
            case .set(let targets, let attribute, let e):
                let value = try eval(e)
                if let attribute {
                    guard case .namespace(let ns) = lookup(targets[0]) else {
                        throw TemplateError("cannot set \(targets[0]).\(attribute): \(targets[0]) is not a namespace()")
                    }
                    ns.dict[attribute] = value
                } else if targets.count == 1 {
                    assign(targets[0], value)
                } else {
                    let items = try iterate(value)
                    guard items.count == targets.count else {
                        throw TemplateError("cannot unpack \(items.count) values into \(targets.count) names")
                    }
                    for (t, v) in zip(targets, items) { assign(t, v) }
                }
            case .setBlock(let name, let body):
                var captured = ""
                _ = try run(body, into: &captured)
                assign(name, .string(captured))
            case .macro(let name, let parameters, let body):
                macros[name] = Macro(parameters: parameters, body: body)
            case .filterBlock(let name, let args, let body):
                var captured = ""
                _ = try run(body, into: &captured)
                out += try applyFilter(name, .string(captured), try args.map { e throws(TemplateError) in try eval(e) }, [:]).text
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    mutating func runFor(
        _ targets: [String], _ iterable: JinjaExpr, _ condition: JinjaExpr?, _ body: [JinjaNode],
        _ otherwise: [JinjaNode]?, into out: inout String
    ) throws(TemplateError) {
        let source = try eval(iterable)
        var items: [JinjaValue]
        if case .dict(let d) = source { items = d.keys.map { .string($0) } } else { items = try iterate(source) }
        scopes.append([:])
        defer { scopes.removeLast() }
        func bind(_ item: JinjaValue, _ r: inout JinjaRenderer) throws(TemplateError) {
            if targets.count == 1 { r.assign(targets[0], item); return }
            let parts = try r.iterate(item)
            guard parts.count == targets.count else {
                throw TemplateError("cannot unpack \(parts.count) values into \(targets.count) loop variables")
            }
            for (t, v) in zip(targets, parts) { r.assign(t, v) }
        }
        if let condition {
            var kept: [JinjaValue] = []
            for item in items {
                try bind(item, &self)
                if try eval(condition).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty, let otherwise {
            _ = try run(otherwise, into: &out)
            return
        }
        for (index, item) in items.enumerated() {
            try bind(item, &self)
            assign(
                "loop",
                .dict(
                    JinjaDict([
                        ("index", .int(index + 1)), ("index0", .int(index)), ("first", .bool(index == 0)),
                        ("last", .bool(index == items.count - 1)),
                        ("length", .int(items.count)), ("revindex", .int(items.count - index)),
                        ("revindex0", .int(items.count - index - 1)),
                        ("previtem", index > 0 ? items[index - 1] : .undefined),
                        ("nextitem", index + 1 < items.count ? items[index + 1] : .undefined),
                    ])))
            let flow = try run(body, into: &out)
            if flow == .breakLoop { break }
        }
    }

    func iterate(_ v: JinjaValue) throws(TemplateError) -> [JinjaValue] {
        switch v {
        case .array(let a): return a
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s): return s.map { .string(String($0)) }
        case .undefined: return []
        default: throw TemplateError("\(v.typeName) is not iterable")
        }
    }

    // MARK: Expressions

    mutating func eval(_ e: JinjaExpr) throws(TemplateError) -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items): return .array(try items.map { x throws(TemplateError) in try eval(x) })
        case .dict(let pairs):
            var d = JinjaDict()
            for (k, v) in pairs { d[try eval(k).text] = try eval(v) }
            return .dict(d)
        case .attribute(let base, let name):
            let b = try eval(base)
            switch b {
            case .dict(let d): return d[name] ?? .undefined
            case .namespace(let ns): return ns.dict[name] ?? .undefined
            default: return .undefined
            }
        case .index(let base, let index):
            let b = try eval(base), i = try eval(index)
            switch (b, i) {
            case (.dict(let d), _): return d[i.text] ?? .undefined
            case (.namespace(let ns), _): return ns.dict[i.text] ?? .undefined
            case (.array(let a), .int(let k)):
                let j = k < 0 ? a.count + k : k
                return a.indices.contains(j) ? a[j] : .undefined
            case (.string(let s), .int(let k)):
                let chars = Array(s)
                let j = k < 0 ? chars.count + k : k
                return chars.indices.contains(j) ? .string(String(chars[j])) : .undefined
            case (.undefined, _): throw TemplateError("cannot index an undefined value with \(i.repr)")
            default: return .undefined
            }
        case .slice(let base, let start, let stop, let step):
            let b = try eval(base)
            let st = try start.map { x throws(TemplateError) in try eval(x) }, sp = try stop.map { x throws(TemplateError) in try eval(x) }
            let stp = try step.map { x throws(TemplateError) in try eval(x) }
            switch b {
            case .array(let a): return .array(Self.slice(a, st, sp, stp))
            case .string(let s): return .string(String(Self.slice(Array(s), st, sp, stp)))
            default: throw TemplateError("cannot slice a \(b.typeName)")
            }
        case .call(let callee, let args, let kwargs):
            let a = try args.map { x throws(TemplateError) in try eval(x) }
            var k: [String: JinjaValue] = [:]
            for (n, x) in kwargs { k[n] = try eval(x) }
            if case .attribute(let base, let method) = callee { return try callMethod(try eval(base), method, a, k) }
            guard case .name(let name) = callee else { throw TemplateError("only functions and methods can be called") }
            return try callFunction(name, a, k)
        case .filter(let base, let name, let args, let kwargs):
            let a = try args.map { x throws(TemplateError) in try eval(x) }
            var k: [String: JinjaValue] = [:]
            for (n, x) in kwargs { k[n] = try eval(x) }
            return try applyFilter(name, try eval(base), a, k)
        case .test(let base, let name, let args, let negated):
            let result = try applyTest(name, try eval(base), try args.map { x throws(TemplateError) in try eval(x) })
            return .bool(result != negated)
        case .unary(let op, let x):
            let v = try eval(x)
            if op == "not" { return .bool(!v.truthy) }
            switch v {
            case .int(let i): return .int(-i)
            case .double(let d): return .double(-d)
            default: throw TemplateError("cannot negate a \(v.typeName)")
            }
        case .binary(let op, let l, let r):
            if op == "and" { let a = try eval(l); return a.truthy ? try eval(r) : a }
            if op == "or" { let a = try eval(l); return a.truthy ? a : try eval(r) }
            return try Self.binary(op, try eval(l), try eval(r))
        case .conditional(let value, let condition, let otherwise):
            if try eval(condition).truthy { return try eval(value) }
            return try otherwise.map { x throws(TemplateError) in try eval(x) } ?? .undefined
        }
    }

    static func slice<T>(_ a: [T], _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?) -> [T] {
        func int(_ v: JinjaValue?) -> Int? { if case .int(let i) = v { return i }; return nil }
        let n = a.count, s = int(step) ?? 1
        guard s != 0 else { return [] }
        func clamp(_ v: Int?, _ dflt: Int) -> Int {
            guard var v else { return dflt }
            if v < 0 { v += n }
            return s > 0 ? min(max(v, 0), n) : min(max(v, -1), n - 1)
        }
        var out: [T] = []
        if s > 0 {
            var i = clamp(int(start), 0)
            let end = clamp(int(stop), n)
            while i < end { out.append(a[i]); i += s }
        } else {
            var i = clamp(int(start), n - 1)
            let end = clamp(int(stop), -1)
            while i > end { out.append(a[i]); i += s }
        }
        return out
    }

    static func number(_ v: JinjaValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    static func equal(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        if case .undefined = a, case .undefined = b { return true }
        return a == b
    }

    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws(TemplateError) -> JinjaValue {
        switch op {
        case "==": return .bool(equal(a, b))
        case "!=": return .bool(!equal(a, b))
        case "~": return .string(a.text + b.text)
        case "in", "not in":
            let found: Bool
            switch b {
            case .string(let s): found = s.contains(a.text)
            case .array(let items): found = items.contains { equal($0, a) }
            case .dict(let d): found = d[a.text] != nil
            case .namespace(let ns): found = ns.dict[a.text] != nil
            case .undefined: found = false
            default: throw TemplateError("'in' needs a string, list or dict on its right, not a \(b.typeName)")
            }
            return .bool(op == "in" ? found : !found)
        case "<", "<=", ">", ">=":
            let ordered: Bool
            if case .string(let x) = a, case .string(let y) = b {
                ordered = op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y
            } else if let x = number(a), let y = number(b) {
                ordered = op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y
            } else {
                throw TemplateError("cannot compare \(a.typeName) and \(b.typeName) with \(op)")
            }
            return .bool(ordered)
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.array(let x), .array(let y)): return .array(x + y)
            case (.int(let x), .int(let y)): return .int(x + y)
            default:
                guard let x = number(a), let y = number(b) else { throw TemplateError("cannot add \(a.typeName) and \(b.typeName)") }
                return .double(x + y)
            }
        case "-", "*", "/", "//", "%":
            if op == "*", case .string(let s) = a, case .int(let n) = b { return .string(String(repeating: s, count: max(0, n))) }
            if case .int(let x) = a, case .int(let y) = b, op != "/" {
                if (op == "//" || op == "%") && y == 0 { throw TemplateError("division by zero") }
                switch op {
                case "-": return .int(x - y)
                case "*": return .int(x * y)
                case "//": return .int(Int((Double(x) / Double(y)).rounded(.down)))
                default: return .int(((x % y) + y) % y)
                }
            }
            guard let x = number(a), let y = number(b) else { throw TemplateError("cannot apply \(op) to \(a.typeName) and \(b.typeName)") }
            switch op {
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": guard y != 0 else { throw TemplateError("division by zero") }; return .double(x / y)
            case "//": return .double((x / y).rounded(.down))
            default: return .double(x - y * (x / y).rounded(.down))
            }
        default: throw TemplateError("the operator \(op) is not supported")
        }
    }
}

import Foundation
import LMKitTensor

/// The functions, methods, filters and tests chat templates call, with Python's semantics.
extension JinjaRenderer {
    mutating func callFunction(_ name: String, _ a: [JinjaValue], _ k: [String: JinjaValue]) throws(TemplateError) -> JinjaValue {
        if let macro = macros[name] {
            scopes.append([:])
            defer { scopes.removeLast() }
            for (i, (parameter, fallback)) in macro.parameters.enumerated() {
                var value = i < a.count ? a[i] : k[parameter] ?? .undefined
                if case .undefined = value, let fallback { value = try eval(fallback) }
                assign(parameter, value)
            }
            var out = ""
            _ = try run(macro.body, into: &out)
            return .string(out)
        }
        switch name {
        case "raise_exception":
            throw TemplateError(a.first?.text ?? "the template raised an exception", raisedByTemplate: true)
        case "strftime_now":
            return .string(Self.strftime(a.first?.text ?? "%Y-%m-%d", now))
        case "range":
            let n = a.compactMap { v -> Int? in
                if case .int(let i) = v { return i }; return nil
            }
            guard n.count == a.count, (1...3).contains(n.count) else { throw TemplateError("range() takes 1 to 3 integers") }
            let (start, stop, step) = n.count == 1 ? (0, n[0], 1) : (n[0], n[1], n.count == 3 ? n[2] : 1)
            guard step != 0 else { throw TemplateError("range() step must not be zero") }
            return .array(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
        case "namespace":
            var d = JinjaDict()
            if case .dict(let initial) = a.first ?? .undefined { for key in initial.keys { d[key] = initial[key] } }
            for key in k.keys.sorted() { d[key] = k[key] }
            return .namespace(JinjaNamespace(d))
        case "dict":
            var d = JinjaDict()
            for key in k.keys.sorted() { d[key] = k[key] }
            return .dict(d)
        default:
            throw TemplateError(
                "the function \(name)() is not defined (LMKit's chat templates have raise_exception, strftime_now, range, namespace, dict and the template's macros)"
            )
        }
    }

    static func strftime(_ format: String, _ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [Int8](repeating: 0, count: 256)
        let n = Foundation.strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Methods

    func callMethod(_ base: JinjaValue, _ method: String, _ a: [JinjaValue], _ k: [String: JinjaValue]) throws(TemplateError) -> JinjaValue
    {
        switch base {
        case .string(let s):
            switch method {
            case "strip", "lstrip", "rstrip":
                return .string(
                    Self.strip(
                        s,
                        a.first.flatMap {
                            if case .string(let c) = $0 { return c }; return nil
                        }, method))
            case "split":
                let separator: String? = if case .string(let sep) = a.first { sep } else { nil }
                let limit: Int =
                    if a.count > 1, case .int(let m) = a[1] { m } else if case .int(let m) = k["maxsplit"] ?? .undefined { m } else { -1 }
                return .array(Self.split(s, separator, limit).map { .string($0) })
            case "splitlines":
                return .array(
                    s.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map { .string(String($0)) }.dropLast(
                        s.hasSuffix("\n") ? 1 : 0))
            case "startswith", "endswith":
                let candidates: [String]
                switch a.first {
                case .string(let p): candidates = [p]
                case .array(let items): candidates = items.map(\.text)
                default: throw TemplateError("\(method)() needs a string or a tuple of strings")
                }
                return .bool(candidates.contains { method == "startswith" ? s.hasPrefix($0) : s.hasSuffix($0) })
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(Self.title(s))
            case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            case "replace":
                guard a.count >= 2 else { throw TemplateError("replace() needs two strings") }
                return .string(s.replacingOccurrences(of: a[0].text, with: a[1].text))
            case "find":
                guard let r = s.range(of: a.first?.text ?? "") else { return .int(-1) }
                return .int(s.distance(from: s.startIndex, to: r.lowerBound))
            case "count": return .int(a.first.map { s.components(separatedBy: $0.text).count - 1 } ?? 0)
            case "join": return .string(try iterate(a.first ?? .array([])).map(\.text).joined(separator: s))
            case "isdigit": return .bool(!s.isEmpty && s.allSatisfy(\.isNumber))
            case "isspace": return .bool(!s.isEmpty && s.allSatisfy(\.isWhitespace))
            default: break
            }
        case .dict(let d):
            switch method {
            case "items": return .array(d.keys.map { .array([.string($0), d[$0]!]) })
            case "keys": return .array(d.keys.map { .string($0) })
            case "values": return .array(d.keys.map { d[$0]! })
            case "get": return d[a.first?.text ?? ""] ?? (a.count > 1 ? a[1] : .none)
            default: break
            }
        case .undefined:
            throw TemplateError("cannot call .\(method)() on an undefined value")
        default: break
        }
        throw TemplateError("the method .\(method)() of a \(base.typeName) is not supported")
    }

    static func isPythonSpace(_ c: Character) -> Bool { c.isWhitespace }

    static func strip(_ s: String, _ chars: String?, _ which: String) -> String {
        let drop: (Character) -> Bool = chars.map { set in { set.contains($0) } } ?? isPythonSpace
        var result = Substring(s)
        if which != "rstrip" { result = result.drop(while: drop) }
        if which != "lstrip" { while let last = result.last, drop(last) { result = result.dropLast() } }
        return String(result)
    }

    static func split(_ s: String, _ separator: String?, _ limit: Int) -> [String] {
        guard let separator, !separator.isEmpty else {
            var parts = s.split(whereSeparator: isPythonSpace).map(String.init)
            if limit >= 0 && parts.count > limit + 1 {
                // Python keeps the rest (from the (limit+1)-th word) unsplit.
                var rest = Substring(s).drop(while: isPythonSpace)
                var head: [String] = []
                for _ in 0..<limit {
                    let word = rest.prefix(while: { !isPythonSpace($0) })
                    head.append(String(word))
                    rest = rest.dropFirst(word.count).drop(while: isPythonSpace)
                }
                parts = head + [String(rest)]
            }
            return parts
        }
        var parts = s.components(separatedBy: separator)
        if limit >= 0 && parts.count > limit + 1 { parts = Array(parts[..<limit]) + [parts[limit...].joined(separator: separator)] }
        return parts
    }

    static func title(_ s: String) -> String {
        var out = "", startOfWord = true
        for c in s {
            out += startOfWord ? c.uppercased() : c.lowercased()
            startOfWord = !(c.isLetter || c.isNumber)
        }
        return out
    }

    // MARK: Filters

    mutating func applyFilter(_ name: String, _ v: JinjaValue, _ a: [JinjaValue], _ k: [String: JinjaValue]) throws(TemplateError)
        -> JinjaValue
    {
        switch name {
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.count)
            case .array(let x): return .int(x.count)
            case .dict(let d): return .int(d.keys.count)
            case .undefined: return .int(0)
            default: throw TemplateError("\(v.typeName) has no length")
            }
        case "trim": return .string(Self.strip(v.text, a.first.map(\.text), "strip"))
        case "upper": return .string(v.text.uppercased())
        case "lower": return .string(v.text.lowercased())
        case "title": return .string(Self.title(v.text))
        case "capitalize": return .string(v.text.prefix(1).uppercased() + v.text.dropFirst().lowercased())
        case "string": return .string(v.text)
        case "safe", "e", "escape", "forceescape":
            guard name == "safe" else {
                return .string(
                    v.text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(
                            of: "'", with: "&#39;"))
            }
            return v
        case "int":
            if case .string(let s) = v { return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? Int(Double(s) ?? 0)) }
            return .int(Int(Self.number(v) ?? 0))
        case "float":
            if case .string(let s) = v { return .double(Double(s.trimmingCharacters(in: .whitespaces)) ?? 0) }
            return .double(Self.number(v) ?? 0)
        case "abs":
            if case .int(let i) = v { return .int(abs(i)) }
            return .double(abs(Self.number(v) ?? 0))
        case "first": return try iterate(v).first ?? .undefined
        case "last": return try iterate(v).last ?? .undefined
        case "list": return .array(try iterate(v))
        case "reverse":
            if case .string(let s) = v { return .string(String(s.reversed())) }
            return .array(try iterate(v).reversed())
        case "unique":
            var seen: [JinjaValue] = []
            for x in try iterate(v) where !seen.contains(where: { Self.equal($0, x) }) { seen.append(x) }
            return .array(seen)
        case "join":
            let separator = a.first?.text ?? k["d"]?.text ?? ""
            var items = try iterate(v)
            if let attribute = k["attribute"]?.text { items = items.map { Self.attribute($0, attribute) } }
            return .string(items.map(\.text).joined(separator: separator))
        case "default", "d":
            let fallback = a.first ?? .string("")
            let boolean = (a.count > 1 ? a[1] : k["boolean"] ?? .bool(false)).truthy
            if case .undefined = v { return fallback }
            return boolean && !v.truthy ? fallback : v
        case "items":
            guard case .dict(let d) = v else {
                if case .undefined = v { return .array([]) }; throw TemplateError("items needs a dict, not a \(v.typeName)")
            }
            return .array(d.keys.map { .array([.string($0), d[$0]!]) })
        case "replace":
            guard a.count >= 2 else { throw TemplateError("replace needs two strings") }
            return .string(v.text.replacingOccurrences(of: a[0].text, with: a[1].text))
        case "tojson":
            let indent: Int? = if case .int(let i) = (k["indent"] ?? a.first ?? .undefined) { i } else { nil }
            return .string(try Self.json(v, indent: indent, level: 0))
        case "indent":
            let width: Int = if case .int(let w) = (a.first ?? k["width"] ?? .int(4)) { w } else { 4 }
            let first = (a.count > 1 ? a[1] : k["first"] ?? .bool(false)).truthy
            let pad = String(repeating: " ", count: width)
            let lines = v.text.components(separatedBy: "\n")
            return .string(lines.enumerated().map { i, l in (i == 0 && !first) || l.isEmpty ? l : pad + l }.joined(separator: "\n"))
        case "wordcount": return .int(v.text.split(whereSeparator: { $0.isWhitespace }).count)
        case "selectattr", "rejectattr":
            guard let attribute = a.first?.text else { throw TemplateError("\(name) needs an attribute name") }
            let keep = name == "selectattr"
            return .array(
                try iterate(v).filter { item in
                    let x = Self.attribute(item, attribute)
                    let passes = a.count > 1 ? ((try? applyTest(a[1].text, x, Array(a.dropFirst(2)))) ?? false) : x.truthy
                    return passes == keep
                })
        case "select", "reject":
            let keep = name == "select"
            return .array(
                try iterate(v).filter { item in
                    let passes = a.isEmpty ? item.truthy : ((try? applyTest(a[0].text, item, Array(a.dropFirst()))) ?? false)
                    return passes == keep
                })
        case "map":
            let items = try iterate(v)
            if let attribute = k["attribute"]?.text {
                return .array(
                    items.map {
                        let x = Self.attribute($0, attribute); if case .undefined = x, let d = k["default"] { return d }; return x
                    })
            }
            guard let filter = a.first?.text else { throw TemplateError("map needs a filter name or attribute=") }
            var out: [JinjaValue] = []
            for item in items { out.append(try applyFilter(filter, item, Array(a.dropFirst()), [:])) }
            return .array(out)
        case "sort":
            var items = try iterate(v)
            let attribute = k["attribute"]?.text
            let reverse = (k["reverse"] ?? .bool(false)).truthy
            items.sort { x, y in
                let (p, q) = attribute.map { (Self.attribute(x, $0), Self.attribute(y, $0)) } ?? (x, y)
                let less = ((try? Self.binary("<", p, q)) ?? .bool(false)).truthy
                return reverse ? !less && !Self.equal(p, q) : less
            }
            return .array(items)
        case "batch", "slice", "groupby", "dictsort", "sum", "min", "max", "round", "urlize", "xmlattr", "filesizeformat", "pprint",
            "random", "format", "center", "truncate", "striptags", "urlencode", "wordwrap":
            throw TemplateError("the filter \(name) is not supported by LMKit's chat-template Jinja subset")
        default:
            throw TemplateError("the filter \(name) is not defined")
        }
    }

    static func attribute(_ v: JinjaValue, _ path: String) -> JinjaValue {
        var x = v
        for part in path.split(separator: ".") {
            switch x {
            case .dict(let d): x = d[String(part)] ?? .undefined
            case .array(let a): x = Int(part).flatMap { a.indices.contains($0) ? a[$0] : nil } ?? .undefined
            default: return .undefined
            }
        }
        return x
    }

    /// Python's `json.dumps(x, ensure_ascii=False, indent=indent)` (what transformers' `tojson` does).
    static func json(_ v: JinjaValue, indent: Int?, level: Int) throws(TemplateError) -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch v {
        case .none: return "null"
        case .undefined, .function: throw TemplateError("tojson: a \(v.typeName) value is not JSON serializable")
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? JinjaValue.pythonFloat(d) : (d.isNaN ? "NaN" : d > 0 ? "Infinity" : "-Infinity")
        case .string(let s): return JSONLiteral.string(s)
        case .array(let a):
            if a.isEmpty { return "[]" }
            var parts: [String] = []
            for x in a { parts.append(try json(x, indent: indent, level: level + 1)) }
            return "[" + newline + parts.joined(separator: separator + newline) + closing + "]"
        case .dict(let d):
            if d.keys.isEmpty { return "{}" }
            var parts: [String] = []
            for key in d.keys { parts.append(JSONLiteral.string(key) + ": " + (try json(d[key]!, indent: indent, level: level + 1))) }
            return "{" + newline + parts.joined(separator: separator + newline) + closing + "}"
        case .namespace(let ns): return try json(.dict(ns.dict), indent: indent, level: level)
        }
    }

    // MARK: Tests

    func applyTest(_ name: String, _ v: JinjaValue, _ a: [JinjaValue]) throws(TemplateError) -> Bool {
        switch name {
        case "defined": if case .undefined = v { return false }; return true
        case "undefined": if case .undefined = v { return true }; return false
        case "none": if case .none = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "number":
            switch v {
            case .int, .double: return true;
            default: return false
            }
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": return v == .bool(true)
        case "false": return v == .bool(false)
        case "mapping":
            switch v {
            case .dict, .namespace: return true;
            default: return false
            }
        case "iterable", "sequence":
            switch v {
            case .array, .dict, .string: return true;
            default: return false
            }
        case "callable": if case .function = v { return true }; return false
        case "even", "odd":
            guard case .int(let i) = v else { throw TemplateError("\(name) needs an integer") }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            guard case .int(let i) = v, case .int(let n) = a.first ?? .undefined, n != 0 else {
                throw TemplateError("divisibleby needs integers")
            }
            return i % n == 0
        case "eq", "equalto", "==", "sameas": return Self.equal(v, a.first ?? .undefined)
        case "ne", "!=": return !Self.equal(v, a.first ?? .undefined)
        case "lt", "<", "le", "<=", "gt", ">", "ge", ">=":
            let op = ["lt": "<", "le": "<=", "gt": ">", "ge": ">="][name] ?? name
            return try Self.binary(op, v, a.first ?? .undefined).truthy
        case "in": return try Self.binary("in", v, a.first ?? .undefined).truthy
        case "lower": return v.text == v.text.lowercased()
        case "upper": return v.text == v.text.uppercased()
        default: throw TemplateError("the test '\(name)' is not defined")
        }
    }
}

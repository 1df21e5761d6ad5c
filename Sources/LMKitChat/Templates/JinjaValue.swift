import Foundation

/// A value inside a chat template: what Jinja2 (Python) values are, reduced to what Hugging Face
/// chat templates use. Dictionaries keep their insertion order (as Python's do), so `tojson` and
/// `items()` give keys in the order the messages were written.
public indirect enum JinjaValue: Sendable, Equatable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case dict(JinjaDict)
    /// A mutable object created by `namespace(...)` (the one thing templates assign attributes on).
    case namespace(JinjaNamespace)
    /// A global function or macro named as a value (`strftime_now is defined`).
    case function(String)

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .dict(let d): return !d.keys.isEmpty
        case .namespace, .function: return true
        }
    }

    /// Python's `str()` (what `{{ }}` prints); undefined prints nothing.
    var text: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s): return s
        case .array, .dict, .namespace: return repr
        case .function(let name): return "<function \(name)>"
        }
    }

    /// Python's `repr()` (lists and dicts print their items this way).
    var repr: String {
        switch self {
        case .string(let s):
            let quote = s.contains("'") && !s.contains("\"") ? "\"" : "'"
            var out = quote
            for c in s.unicodeScalars {
                switch c {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default: out += String(c) == quote ? "\\" + quote : String(c)
                }
            }
            return out + quote
        case .array(let a): return "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.keys.map { "'\($0)': \(d.values[$0]!.repr)" }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace " + n.dict.keys.map { "\($0)=\(n.dict.values[$0]!.repr)" }.joined(separator: ", ") + ">"
        default: return text
        }
    }

    /// Python's `str(float)` (= `repr`, also what `json.dumps` writes for finite values).
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    /// The name of the value's type, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "none"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "float"
        case .string: return "string"
        case .array: return "list"
        case .dict: return "dict"
        case .namespace: return "namespace"
        case .function: return "function"
        }
    }

    /// A value from JSON-like Swift values (`String`, numbers, `Bool`, arrays, dictionaries, `NSNull`).
    public init(_ any: Any?) {
        switch any {
        case nil, is NSNull: self = .none
        case let v as JinjaValue: self = v
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let s as String: self = .string(s)
        case let a as [Any?]: self = .array(a.map { JinjaValue($0) })
        case let a as [Any]: self = .array(a.map { JinjaValue($0) })
        case let pairs as KeyValuePairs<String, Any?>: self = .dict(JinjaDict(pairs.map { ($0.key, JinjaValue($0.value)) }))
        case let d as [String: Any]: self = .dict(JinjaDict(d.keys.sorted().map { ($0, JinjaValue(d[$0])) }))
        default: self = .string("\(any!)")
        }
    }
}

/// An insertion-ordered string-keyed dictionary.
public struct JinjaDict: Sendable, Equatable {
    public private(set) var keys: [String] = []
    public private(set) var values: [String: JinjaValue] = [:]

    /// The `pairs` in order (a repeated key keeps its first position and its last value).
    public init(_ pairs: [(String, JinjaValue)] = []) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The value of `key`; setting a new key appends it to the order, setting nil removes it.
    public subscript(key: String) -> JinjaValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }
}

/// The mutable object of `namespace()`: assignments inside loops are visible after them.
public final class JinjaNamespace: @unchecked Sendable, Equatable {
    var dict: JinjaDict
    init(_ dict: JinjaDict) { self.dict = dict }
    /// Identity: a namespace equals only itself.
    public static func == (a: JinjaNamespace, b: JinjaNamespace) -> Bool { a === b }
}

/// What went wrong rendering or reading a template: the construct, and where.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the construct and where.
    public let message: String
    /// Set for `raise_exception(...)` called by the template itself (a conversation it rejects).
    public let raisedByTemplate: Bool
    /// An error saying `message`; `raisedByTemplate` when it comes from `raise_exception(...)`.
    public init(_ message: String, raisedByTemplate: Bool = false) {
        self.message = message
        self.raisedByTemplate = raisedByTemplate
    }
    /// The error as printed: its `message`.
    public var description: String { message }
}

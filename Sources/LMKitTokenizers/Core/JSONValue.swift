import Foundation

/// Typed access to a parsed `tokenizer.json` object, with errors that name the component and key.
struct JSONObject {
    let dict: [String: Any]
    /// Where this object sits in the file, for error messages ("normalizer.normalizers[1]").
    let path: String

    init(_ value: Any?, path: String) throws(TokenizerError) {
        guard let dict = value as? [String: Any] else { throw TokenizerError("\(path): expected a JSON object") }
        self.dict = dict
        self.path = path
    }

    var type: String? { dict["type"] as? String }

    func has(_ key: String) -> Bool { dict[key] != nil && !(dict[key] is NSNull) }

    func string(_ key: String) throws(TokenizerError) -> String {
        guard let v = dict[key] as? String else { throw TokenizerError("\(path).\(key): expected a string") }
        return v
    }
    func string(_ key: String, default d: String?) throws(TokenizerError) -> String? {
        guard has(key) else { return d }
        return try string(key)
    }
    func bool(_ key: String, default d: Bool) throws(TokenizerError) -> Bool {
        guard has(key) else { return d }
        guard let v = dict[key] as? Bool else { throw TokenizerError("\(path).\(key): expected true or false") }
        return v
    }
    func optionalBool(_ key: String) throws(TokenizerError) -> Bool? {
        guard has(key) else { return nil }
        return try bool(key, default: false)
    }
    func int(_ key: String, default d: Int?) throws(TokenizerError) -> Int? {
        guard has(key) else { return d }
        guard let v = dict[key] as? NSNumber, let i = Int(exactly: v.doubleValue) else {
            throw TokenizerError("\(path).\(key): expected an integer")
        }
        return i
    }
    func double(_ key: String, default d: Double?) throws(TokenizerError) -> Double? {
        guard has(key) else { return d }
        guard let v = dict[key] as? NSNumber else { throw TokenizerError("\(path).\(key): expected a number") }
        return v.doubleValue
    }
    func object(_ key: String) throws(TokenizerError) -> JSONObject { try JSONObject(dict[key], path: "\(path).\(key)") }
    func array(_ key: String) throws(TokenizerError) -> [Any] {
        guard let v = dict[key] as? [Any] else { throw TokenizerError("\(path).\(key): expected an array") }
        return v
    }
    func objects(_ key: String) throws(TokenizerError) -> [JSONObject] {
        var out: [JSONObject] = []
        for (i, v) in try array(key).enumerated() { out.append(try JSONObject(v, path: "\(path).\(key)[\(i)]")) }
        return out
    }

    func unsupported(_ what: String) -> TokenizerError {
        TokenizerError("\(path): unsupported \(what) (LMKit reads the tokenizer.json components listed in `lmkit tokenize --help`)")
    }
}

/// A `Replace`/`Split` pattern: `{"String": "…"}` or `{"Regex": "…"}`.
enum JSONPattern {
    case string(String)
    case regex(String)

    init(_ value: Any?, path: String) throws(TokenizerError) {
        let o = try JSONObject(value, path: path)
        if let s = o.dict["String"] as? String {
            self = .string(s)
        } else if let r = o.dict["Regex"] as? String {
            self = .regex(r)
        } else {
            throw TokenizerError("\(path): expected {\"String\": …} or {\"Regex\": …}")
        }
    }
}

/// JSON parsing that keeps U+FEFF inside strings: Foundation's parser on Linux silently drops a raw
/// byte-order mark found inside a string value (a vocabulary token can be exactly that), so raw
/// BOMs after the first byte are rewritten as the `\ufeff` escape before parsing.
enum JSONText {
    static func parse(_ data: Data) throws(TokenizerError) -> Any {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.count >= 3 {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            let escape = Array("\\ufeff".utf8)
            while i < bytes.count {
                if bytes[i] == 0xEF && i + 2 < bytes.count && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF {
                    out += escape
                    i += 3
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            bytes = out
        }
        do { return try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw TokenizerError("not valid JSON (\(error.localizedDescription))")
        }
    }
}

/// Reads one object's members straight from the JSON bytes, keys exactly as written.
///
/// Foundation's parser hands objects over as `[String: Any]`, and Swift compares `String`s by
/// canonical equivalence: "é" (U+00E9) and "e" + U+0301, or ";" and U+037E GREEK QUESTION MARK, are
/// one key there, though they are different tokens of a vocabulary (Gemma's has such pairs). The
/// `{"token": id}` vocabularies of `tokenizer.json` and `vocab.json` are read through this instead.
struct JSONMemberScanner {
    private let bytes: [UInt8]
    private var i = 0

    init(_ data: Data) {
        bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    /// The integer members of the object at `path` (keys of nested objects from the root), in file
    /// order; nil when there is no object there. A member whose value is not an integer is an error.
    static func integerMembers(_ data: Data, at path: [String], name: String) throws(TokenizerError) -> [(key: String, value: Int)]? {
        var s = JSONMemberScanner(data)
        guard try s.descend(path) else { return nil }
        var out: [(key: String, value: Int)] = []
        s.skipSpace()
        guard s.take(UInt8(ascii: "{")) else { return nil }
        s.skipSpace()
        if s.take(UInt8(ascii: "}")) { return out }
        while true {
            s.skipSpace()
            let key = try s.string()
            s.skipSpace()
            guard s.take(UInt8(ascii: ":")) else { throw TokenizerError("\(name): expected ':' after \"\(key)\"") }
            s.skipSpace()
            guard let value = s.integer() else { throw TokenizerError("\(name)[\"\(key)\"]: expected a non-negative integer id") }
            out.append((key, value))
            s.skipSpace()
            if s.take(UInt8(ascii: "}")) { return out }
            guard s.take(UInt8(ascii: ",")) else { throw TokenizerError("\(name): expected ',' or '}' after \"\(key)\"") }
        }
    }

    /// Moves to the value of `path`, object by object; false when a key is missing or a value on the
    /// way is not an object.
    private mutating func descend(_ path: [String]) throws(TokenizerError) -> Bool {
        for want in path {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return false }
            var found = false
            skipSpace()
            if take(UInt8(ascii: "}")) { return false }
            while !found {
                skipSpace()
                let key = try string()
                skipSpace()
                guard take(UInt8(ascii: ":")) else { throw TokenizerError("expected ':' after \"\(key)\"") }
                if key == want {
                    found = true
                } else {
                    try skipValue()
                    skipSpace()
                    if take(UInt8(ascii: "}")) { return false }
                    guard take(UInt8(ascii: ",")) else { throw TokenizerError("expected ',' or '}' after \"\(key)\"") }
                }
            }
        }
        return true
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func take(_ b: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == b else { return false }
        i += 1
        return true
    }

    /// A non-negative integer written without fraction or exponent, or nil (the position is then unspecified).
    private mutating func integer() -> Int? {
        var n = 0, digits = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (m, overflow) = n.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            n = m + Int(bytes[i] - 0x30)
            i += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[i]) { return nil }
        return n
    }

    /// A string at the position, escapes decoded, its code points as written.
    private mutating func string() throws(TokenizerError) -> String {
        guard take(UInt8(ascii: "\"")) else { throw TokenizerError("expected a string at byte \(i)") }
        var out: [UInt8] = []
        func append(_ scalar: UInt32) {
            out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
        }
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                continue
            }
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard var unit = hex4() else { throw TokenizerError("a \\u escape without four hex digits at byte \(i)") }
                if (0xD800..<0xDC00).contains(unit), bytes.count > i + 1, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                {
                    let mark = i
                    i += 2
                    if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = mark
                    }
                }
                append(unit)
            default: out.append(e)  // \" \\ \/
            }
        }
        throw TokenizerError("a string runs to the end of the file")
    }

    private mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else { return nil }
        i += 4
        return v
    }

    /// Steps over one value of any kind (strings may hold brackets).
    private mutating func skipValue() throws(TokenizerError) {
        skipSpace()
        guard i < bytes.count else { throw TokenizerError("the file ends where a value should be") }
        if bytes[i] == UInt8(ascii: "\"") {
            try skipString()
            return
        }
        if bytes[i] == UInt8(ascii: "{") || bytes[i] == UInt8(ascii: "[") {
            var depth = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""): try skipString(); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        return
                    }
                default: break
                }
                i += 1
            }
            throw TokenizerError("an object or array runs to the end of the file")
        }
        while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) {
            i += 1
        }
    }

    private mutating func skipString() throws(TokenizerError) {
        i += 1  // the opening quote
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            i += 1
            if bytes[i - 1] == UInt8(ascii: "\"") { return }
        }
        throw TokenizerError("a string runs to the end of the file")
    }
}

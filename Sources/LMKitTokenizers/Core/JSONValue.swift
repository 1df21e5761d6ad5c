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

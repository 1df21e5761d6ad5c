import Foundation

/// A JSON request body read with explicit checks, so that every malformed field gets a 400 that
/// names it (a `Codable` decode would stop at the first problem with a message about Swift types).
struct JSONBody {
    let object: [String: Any]

    init(_ data: Data) throws(APIError) {
        guard !data.isEmpty else { throw .invalid("the request body is empty; send a JSON object") }
        guard String(data: data, encoding: .utf8) != nil else { throw .invalid("the request body is not valid UTF-8") }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw .invalid("the request body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw .invalid("the request body must be a JSON object") }
        self.object = object
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func string(_ key: String) throws(APIError) -> String? {
        guard has(key) else { return nil }
        guard let s = object[key] as? String else { throw .invalid("\(key) must be a string", param: key) }
        return s
    }

    /// Whether a parsed JSON value is `true`/`false` (Foundation gives booleans and numbers as
    /// NSNumber; booleans are the ones of Objective-C type `c`).
    static func isBoolean(_ value: Any?) -> Bool {
        guard let n = value as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard has(key) else { return nil }
        guard Self.isBoolean(object[key]), let n = object[key] as? NSNumber else { throw .invalid("\(key) must be a boolean", param: key) }
        return n.boolValue
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !Self.isBoolean(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 9e18
        else {
            throw .invalid("\(key) must be an integer", param: key)
        }
        guard range.contains(n.intValue) else {
            throw .invalid("\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(n.intValue)", param: key)
        }
        return n.intValue
    }

    func double(_ key: String, _ range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !Self.isBoolean(n), n.doubleValue.isFinite else {
            throw .invalid("\(key) must be a number", param: key)
        }
        guard range.contains(n.doubleValue) else {
            throw .invalid("\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(n.doubleValue)", param: key)
        }
        return n.doubleValue
    }

    /// A string or a list of strings (`stop`, `input`).
    func strings(_ key: String) throws(APIError) -> [String]? {
        guard has(key) else { return nil }
        if let s = object[key] as? String { return [s] }
        guard let list = object[key] as? [Any], let strings = list as? [String] else {
            throw .invalid("\(key) must be a string or a list of strings", param: key)
        }
        return strings
    }
}

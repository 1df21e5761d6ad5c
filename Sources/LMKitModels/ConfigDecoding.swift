import Foundation

// Reading Hugging Face `config.json` files through `Codable`: errors a user sees name the file and
// the key at fault, and what was wrong with it.

extension ModelError {
    /// A `config.json` that did not decode: the key path at fault and what was wrong with it.
    init(decoding error: DecodingError, source: String) {
        func path(_ context: DecodingError.Context, _ last: CodingKey? = nil) -> String {
            (context.codingPath + (last.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            self.init("\(source): \"\(path(context))\" must be \(Self.jsonName(type))")
        case .valueNotFound(let type, let context):
            self.init("\(source): \"\(path(context))\" is null where \(Self.jsonName(type)) is needed")
        case .keyNotFound(let key, let context):
            self.init("\(source): \"\(path(context, key))\" is missing")
        case .dataCorrupted(let context):
            let at = path(context)
            self.init("\(source): \(at.isEmpty ? "" : "\"\(at)\": ")\(context.debugDescription)")
        @unknown default:
            self.init("\(source): \(error)")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }
}

extension KeyedDecodingContainer {
    /// An integer, nil when absent or null. Read as a number first: Foundation's decoder reports a
    /// fraction where an `Int` is asked as invalid JSON without naming the key; this names it.
    func decodeInteger(forKey key: Key) throws -> Int? {
        let number: Double?
        do { number = try decodeIfPresent(Double.self, forKey: key) } catch DecodingError.typeMismatch(_, let context) {
            throw DecodingError.typeMismatch(Int.self, context)
        }
        guard let v = number else { return nil }
        guard v == v.rounded(), abs(v) < 9e15 else {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: codingPath + [key], debugDescription: "\(v) is not an integer"))
        }
        return Int(v)
    }

    /// An integer that must be there.
    func decodeInteger(required key: Key) throws -> Int {
        guard let v = try decodeInteger(forKey: key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "\(key.stringValue) is missing"))
        }
        return v
    }

    /// A token id that `config.json` gives as an integer or a list of them (the first is taken).
    func decodeTokenID(forKey key: Key) throws -> Int? {
        if let list = try? decodeIfPresent([Int].self, forKey: key) { return list.first }
        return try decodeInteger(forKey: key)
    }

    /// Throws when `model_type` is not one of `types`.
    func checkModelType(_ types: [String], family: String, forKey key: Key) throws -> String {
        let type = try decodeIfPresent(String.self, forKey: key)
        guard let type, types.contains(type) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription:
                    "\(type.map { "\"\($0)\"" } ?? "missing") is not a \(family) model_type (\(types.joined(separator: ", ")))")
        }
        return type
    }
}

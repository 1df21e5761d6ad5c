import Foundation

/// A Hugging Face `config.json` being read: typed values with defaults (`null` counts as absent), and
/// errors that name the file and the key.
struct ConfigJSON {
    let root: [String: Any]
    let source: String

    init(root: [String: Any], source: String) {
        self.root = root
        self.source = source
    }

    init(_ data: Data, source: String) throws(ModelError) {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("\(source): not a JSON object")
        }
        self.init(root: root, source: source)
    }

    /// The value of `key`, nil when absent or `null`.
    subscript(_ key: String) -> Any? { root[key] is NSNull ? nil : root[key] }

    func int(_ key: String, _ fallback: Int? = nil) throws(ModelError) -> Int {
        guard let value = self[key] else {
            if let fallback { return fallback }
            throw ModelError("\(source): \"\(key)\" is missing (an integer is needed)")
        }
        guard let v = value as? Int else { throw ModelError("\(source): \"\(key)\" must be an integer") }
        return v
    }

    func double(_ key: String, _ fallback: Double) throws(ModelError) -> Double {
        guard let value = self[key] else { return fallback }
        guard let v = value as? Double else { throw ModelError("\(source): \"\(key)\" must be a number") }
        return v
    }

    func string(_ key: String, _ fallback: String) throws(ModelError) -> String {
        guard let value = self[key] else { return fallback }
        guard let v = value as? String else { throw ModelError("\(source): \"\(key)\" must be a string") }
        return v
    }
}

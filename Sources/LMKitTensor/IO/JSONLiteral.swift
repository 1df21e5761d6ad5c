/// JSON text written by hand where a serializer would change it: string literals that keep every
/// code point as it is (Foundation's serializer goes through `String` keys, which compare by
/// canonical equivalence), for safetensors headers and exported vocabularies.
public enum JSONLiteral {
    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped, nothing else,
    /// as Python's `json.dumps(…, ensure_ascii=False)` and serde_json write them.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

import Foundation
import LMKitAssets
import LMKitTokenizers
import TestSupport

/// The golden files of `Tools/golden/tokenizers_golden.py` (tiktoken, Hugging Face tokenizers,
/// sentencepiece, NLTK on the same 401 texts), read once.
enum Golden {
    static func load(_ name: String) -> [String: Any] {
        let path = fixturePath("tokenizers/\(name).json")
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        // Foundation drops raw U+FEFF inside JSON strings; one golden text starts with one.
        let escaped = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\u{FEFF}", with: "\\ufeff").utf8)
        return (try? JSONSerialization.jsonObject(with: escaped) as? [String: Any]) ?? [:]
    }

    static func cases(_ name: String, _ key: String = "cases") -> [[String: Any]] {
        load(name)[key] as? [[String: Any]] ?? []
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// Invalid UTF-8 made into text the way sentencepiece does: each invalid byte is one U+FFFD.
    static func replacingEachInvalidByte(_ bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            let n = UTF8.width(startingWith: bytes[i])
            if let n, i + n <= bytes.count, let s = String(validating: bytes[i..<(i + n)], as: UTF8.self) {
                scalars.append(contentsOf: s.unicodeScalars)
                i += n
            } else {
                scalars.append("\u{FFFD}")
                i += 1
            }
        }
        return String(scalars)
    }

    static func asset(_ asset: Asset, _ file: String) -> String? {
        guard TestAssets.available(asset) else { return nil }
        return try? TestAssets.store.path(asset, file)
    }

    /// A short, printable excerpt of a text for failure messages.
    static func excerpt(_ s: String) -> String {
        let e = s.prefix(80)
        return "\"\(e.replacingOccurrences(of: "\n", with: "\\n"))\(s.count > 80 ? "…" : "")\""
    }

    /// Index and context of the first difference between two id lists.
    static func firstDifference(_ a: [Int], _ b: [Int]) -> String {
        let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        return
            "first difference at token \(i): got \(Array(a[max(0, i - 2)..<min(a.count, i + 3)])), expected \(Array(b[max(0, i - 2)..<min(b.count, i + 3)])) (lengths \(a.count) vs \(b.count))"
    }
}

extension UTF8 {
    static func width(startingWith b: UInt8) -> Int? {
        if b < 0x80 { return 1 }
        if b >= 0xC2 && b <= 0xDF { return 2 }
        if b >= 0xE0 && b <= 0xEF { return 3 }
        if b >= 0xF0 && b <= 0xF4 { return 4 }
        return nil
    }
}

// Labelled texts for classification in the layouts people have them: CSV/TSV with a header, JSON
// lines, fastText lines (`__label__pos text`, the offline sentiment set), and one folder per label
// (Stanford's aclImdb: `aclImdb/{train,test}/{pos,neg}/*.txt`).
import Foundation
import LMKitTensor

/// One text and its label.
public struct LabeledText: Sendable, Equatable, Codable {
    /// The text to classify.
    public var text: String
    /// Its label as the data spells it (a class name or number).
    public var label: String
    /// Pairs `text` with `label`.
    public init(text: String, label: String) { self.text = text; self.label = label }
}

/// A dataset: training texts and, when the source has one, a test split.
public struct ClassificationDataset: Sendable {
    /// The training texts (all of them when the source has no split).
    public var train: [LabeledText]
    /// The source's test split (aclImdb's `test/`), or nil when it has none.
    public var test: [LabeledText]?
    /// The file or folder the texts were read from.
    public var source: String

    /// The labels in class-id order: numeric labels by value, others alphabetically.
    public var labels: [String] { ClassificationData.orderedLabels(train.map(\.label) + (test?.map(\.label) ?? [])) }
}

/// A file or folder that cannot be read as labelled texts, with the reason.
public struct DataError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, usually prefixed with the path (and line) it concerns.
    public let description: String
    /// An error that reads `description`.
    public init(_ description: String) { self.description = description }
}

/// How a data file's bytes become text.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    /// ISO-8859-1: every byte is the code point of the same number.
    case latin1 = "latin-1"
    /// Windows-1252: Latin-1 with typographic characters at 0x80-0x9F (the Pang & Lee sentences use
    /// its em dash, 0x97).
    case cp1252

    /// The text, or nil when the bytes are not valid in this encoding.
    public func decode(_ data: Data) -> String? {
        switch self {
        case .utf8: return String(validating: data, as: UTF8.self)
        case .latin1: return String(String.UnicodeScalarView(data.map { Unicode.Scalar($0) }))
        case .cp1252:
            var scalars = String.UnicodeScalarView()
            for b in data {
                if b >= 0x80 && b < 0xA0 {
                    let code = TextEncoding.cp1252High[Int(b - 0x80)]
                    guard code != 0, let u = Unicode.Scalar(code) else { return nil }
                    scalars.append(u)
                } else {
                    scalars.append(Unicode.Scalar(b))
                }
            }
            return String(scalars)
        }
    }

    /// Windows-1252 at 0x80-0x9F (0: undefined).
    static let cp1252High: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ]
}

/// Reading, ordering and splitting labelled texts.
public enum ClassificationData {
    /// Reads `path`: a `.csv`/`.tsv` file with a header naming `textColumn` and `labelColumn`, a
    /// `.jsonl` file of objects with those keys, a fastText file (`__label__X text` per line), a folder
    /// with one subfolder of `.txt` files per label, or an aclImdb-style folder with `train/` (and
    /// `test/`) laid out that way. aclImdb's unlabelled `unsup/` folder is skipped.
    /// Files are read as `encoding` (UTF-8 by default).
    public static func load(
        _ path: String, textColumn: String = "text", labelColumn: String = "label",
        encoding: TextEncoding = .utf8
    ) throws(DataError) -> ClassificationDataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError("\(path): no such file or folder")
        }
        if isDirectory.boolValue {
            let train = (path as NSString).appendingPathComponent("train")
            if isFolder(train) {
                let testPath = (path as NSString).appendingPathComponent("test")
                return ClassificationDataset(
                    train: try folderPerLabel(train, encoding: encoding),
                    test: isFolder(testPath) ? try folderPerLabel(testPath, encoding: encoding) : nil, source: path)
            }
            return ClassificationDataset(train: try folderPerLabel(path, encoding: encoding), test: nil, source: path)
        }
        let text = try readText(path, encoding: encoding)
        let lower = path.lowercased()
        let rows: [LabeledText]
        if lower.hasSuffix(".csv") {
            rows = try delimited(text, separator: ",", textColumn: textColumn, labelColumn: labelColumn, source: path)
        } else if lower.hasSuffix(".tsv") {
            rows = try delimited(text, separator: "\t", textColumn: textColumn, labelColumn: labelColumn, source: path)
        } else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") {
            rows = try jsonLines(text, textColumn: textColumn, labelColumn: labelColumn, source: path)
        } else if text.split(whereSeparator: \.isNewline).first?.hasPrefix("__label__") == true {
            rows = try fastText(text, source: path)
        } else {
            throw DataError("\(path): not a .csv, .tsv, .jsonl or fastText (__label__X text) file")
        }
        guard !rows.isEmpty else { throw DataError("\(path): no labelled texts") }
        return ClassificationDataset(train: rows, test: nil, source: path)
    }

    /// Distinct labels: numerically when all are integers, else alphabetically.
    public static func orderedLabels(_ labels: [String]) -> [String] {
        let distinct = Array(Set(labels))
        if distinct.allSatisfy({ Int($0) != nil }) { return distinct.sorted { Int($0)! < Int($1)! } }
        return distinct.sorted()
    }

    static func isFolder(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    static func readText(_ path: String, encoding: TextEncoding) throws(DataError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path): cannot read the file") }
        guard var text = encoding.decode(data) else {
            let bad = encoding == .utf8 ? firstInvalidUTF8(data) : nil
            throw DataError(
                "\(path): not valid \(encoding.rawValue)"
                    + (bad.map { " (byte 0x\(String(data[$0], radix: 16, uppercase: true)) at offset \($0))" } ?? "")
                    + "; give its encoding (--encoding latin-1 or cp1252) or convert it (iconv -t UTF-8)")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return text
    }

    /// Offset of the first byte that breaks UTF-8.
    public static func firstInvalidUTF8(_ data: Data) -> Int? {
        var offset = 0
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var start = 0
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): offset += UTF8.width(s); start = offset
            case .emptyInput: break loop
            case .error: return start
            }
        }
        return nil
    }

    /// One subfolder per label, each holding `.txt` files (read in name order).
    static func folderPerLabel(_ path: String, encoding: TextEncoding) throws(DataError) -> [LabeledText] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted() } catch {
            throw DataError("\(path): cannot list the folder")
        }
        var out: [LabeledText] = []
        for label in entries where label != "unsup" && !label.hasPrefix(".") {
            let folder = (path as NSString).appendingPathComponent(label)
            guard isFolder(folder) else { continue }
            let files: [String]
            do { files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".txt") }.sorted() } catch {
                throw DataError("\(folder): cannot list the folder")
            }
            for f in files {
                let text = try readText((folder as NSString).appendingPathComponent(f), encoding: encoding)
                out.append(LabeledText(text: text.trimmingCharacters(in: .whitespacesAndNewlines), label: label))
            }
        }
        guard Set(out.map(\.label)).count >= 2 else {
            throw DataError(
                "\(path): expected one subfolder of .txt files per label (at least two labels), as aclImdb/train/{pos,neg}/*.txt")
        }
        return out
    }

    /// `__label__X text` lines (fastText's format; the gensim sentiment sentences).
    static func fastText(_ text: String, source: String) throws(DataError) -> [LabeledText] {
        var out: [LabeledText] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if l.isEmpty { continue }
            guard l.hasPrefix("__label__"), let space = l.firstIndex(of: " ") else {
                throw DataError("\(source):\(n + 1): expected \"__label__LABEL text\"")
            }
            let label = String(l[l.index(l.startIndex, offsetBy: 9)..<space])
            guard !label.isEmpty else { throw DataError("\(source):\(n + 1): empty label") }
            out.append(LabeledText(text: l[space...].trimmingCharacters(in: .whitespaces), label: label))
        }
        return out
    }

    /// JSON lines: one object per line with a string text and a string, integer or boolean label.
    static func jsonLines(_ text: String, textColumn: String, labelColumn: String, source: String) throws(DataError) -> [LabeledText] {
        var out: [LabeledText] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw DataError("\(source):\(n + 1): not a JSON object")
            }
            guard let t = object[textColumn] as? String else {
                throw DataError("\(source):\(n + 1): no string \"\(textColumn)\" (keys: \(object.keys.sorted().joined(separator: ", ")))")
            }
            out.append(LabeledText(text: t, label: try labelString(object[labelColumn], column: labelColumn, at: "\(source):\(n + 1)")))
        }
        return out
    }

    static func labelString(_ value: Any?, column: String, at place: String) throws(DataError) -> String {
        switch value {
        case let s as String where !s.isEmpty: return s
        case let n as Int: return String(n)
        case let b as Bool: return b ? "1" : "0"
        case let d as Double where d == d.rounded(): return String(Int(d))
        default: throw DataError("\(place): \"\(column)\" must be a non-empty string or an integer")
        }
    }

    /// CSV/TSV with a header row; fields may be quoted ("…", with "" for a quote), quoted fields may
    /// span lines (RFC 4180).
    static func delimited(_ text: String, separator: Character, textColumn: String, labelColumn: String, source: String) throws(DataError)
        -> [LabeledText]
    {
        let records = try parseDelimited(text, separator: separator, source: source)
        guard let header = records.first?.fields else { throw DataError("\(source): empty file") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let ti = names.firstIndex(of: textColumn), let li = names.firstIndex(of: labelColumn) else {
            throw DataError(
                "\(source): the header has no \"\(textColumn)\" and \"\(labelColumn)\" columns (it has: \(names.joined(separator: ", "))); choose them with --text-column and --label-column"
            )
        }
        var out: [LabeledText] = []
        for record in records.dropFirst() {
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }
            guard record.fields.count == names.count else {
                throw DataError("\(source):\(record.line): \(record.fields.count) fields where the header has \(names.count)")
            }
            let label = record.fields[li].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty else { throw DataError("\(source):\(record.line): empty label") }
            out.append(LabeledText(text: record.fields[ti], label: label))
        }
        return out
    }

    /// The records of CSV/TSV text (RFC 4180 quoting; quoted fields may span lines), each with the
    /// line it starts on. `source` names the file in errors.
    public static func parseDelimited(_ text: String, separator: Character, source: String) throws(DataError) -> [(
        line: Int, fields: [String]
    )] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = [], field = "", quoted = false, afterQuote = false
        var line = 1, recordLine = 1
        var chars = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? { if let p = pending { pending = nil; return p }; return chars.next() }
        while let ch = next() {
            if quoted {
                if ch == "\"" {
                    if let n = next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; afterQuote = true; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    if ch == "\n" || ch == "\r\n" { line += 1 }
                    field.append(ch)
                }
                continue
            }
            switch ch {
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            case separator: fields.append(field); field = ""; afterQuote = false
            case "\n", "\r\n", "\r":
                fields.append(field); records.append((recordLine, fields))
                fields = []; field = ""; afterQuote = false
                line += 1; recordLine = line
            default:
                if afterQuote { throw DataError("\(source):\(line): text after a closing quote") }
                field.append(ch)
            }
        }
        if quoted { throw DataError("\(source):\(recordLine): a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); records.append((recordLine, fields)) }
        return records
    }

    /// Splits `data` into train and validation parts, stratified by label (each label keeps its share),
    /// shuffled with `seed`.
    public static func split(_ data: [LabeledText], validationFraction: Double, seed: UInt64) -> (
        train: [LabeledText], validation: [LabeledText]
    ) {
        let folds = stratifiedFolds(data, count: 1, seed: seed, validationFraction: validationFraction)
        return folds[0]
    }

    /// `count` stratified folds: for fold k, the k-th share of every label is held out for validation.
    /// With `count` 1, `validationFraction` of every label is held out.
    public static func stratifiedFolds(_ data: [LabeledText], count: Int, seed: UInt64, validationFraction: Double = 0)
        -> [(train: [LabeledText], validation: [LabeledText])]
    {
        var rng = RandomGenerator(seed: seed)
        var byLabel: [String: [Int]] = [:]
        for (i, d) in data.enumerated() { byLabel[d.label, default: []].append(i) }
        var foldOf = [Int](repeating: 0, count: data.count)
        var held = [Bool](repeating: false, count: data.count)
        for label in byLabel.keys.sorted() {
            var idx = byLabel[label]!
            for i in stride(from: idx.count - 1, to: 0, by: -1) { idx.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            if count == 1 {
                let n = Int((Double(idx.count) * validationFraction).rounded())
                for i in idx.prefix(n) { held[i] = true }
            } else {
                for (j, i) in idx.enumerated() { foldOf[i] = j % count }
            }
        }
        if count == 1 {
            return [(data.indices.filter { !held[$0] }.map { data[$0] }, data.indices.filter { held[$0] }.map { data[$0] })]
        }
        return (0..<count).map { k in
            (data.indices.filter { foldOf[$0] != k }.map { data[$0] }, data.indices.filter { foldOf[$0] == k }.map { data[$0] })
        }
    }
}

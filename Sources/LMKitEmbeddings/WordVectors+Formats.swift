#if canImport(Glibc)
    import Glibc
#endif
import LMKitTensor

/// Reading and writing the common word-vector formats:
/// - GloVe text: `word v1 … vD` per line, no header;
/// - word2vec text: a `count dimension` header line, then GloVe-style lines;
/// - word2vec binary: the same header, then per word `word␠` followed by D little-endian float32
///   (a newline after each vector is optional, as the original C tool and gensim differ);
/// - a NumPy matrix (`.npy`, C or Fortran order) with a word list, one word per line.
/// Every reader validates counts and numbers and names the line or entry that is wrong.
extension WordVectors {
    /// The on-disk formats.
    public enum Format: String, CaseIterable, Sendable {
        case gloveText = "glove", word2vecText = "word2vec", word2vecBinary = "word2vec-binary"

        /// Guesses the format from the first bytes: a `count dim` header, then text or binary data.
        static func detect(_ bytes: UnsafeRawBufferPointer) -> Format {
            guard let newline = bytes.firstIndex(of: 10) else { return .gloveText }
            let first = bytes[0..<newline].split(separator: 32)
            guard first.count == 2, first.allSatisfy({ $0.allSatisfy { (48...57).contains($0) } }) else { return .gloveText }
            // Binary vectors contain bytes that are not text within the first entry.
            let sample = bytes[(newline + 1)..<min(bytes.count, newline + 1 + 4096)]
            return sample.contains { $0 < 9 || ($0 > 13 && $0 < 32) } ? .word2vecBinary : .word2vecText
        }
    }

    /// Loads a text or binary vector file (`format: nil` detects it).
    public convenience init(contentsOf path: String, format: Format? = nil) throws(WordVectorsError) {
        func fail(_ problem: String) -> WordVectorsError { WordVectorsError(path: path, problem: problem) }
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw fail(error.reason) }
        guard let base = file.base, file.size > 0 else { throw fail("the file is empty") }
        let bytes = UnsafeRawBufferPointer(start: base, count: file.size)
        let (words, matrix): ([String], Tensor)
        switch format ?? Format.detect(bytes) {
        case .gloveText: (words, matrix) = try Self.readText(bytes, header: false, path: path)
        case .word2vecText: (words, matrix) = try Self.readText(bytes, header: true, path: path)
        case .word2vecBinary: (words, matrix) = try Self.readBinary(bytes, path: path)
        }
        try self.init(words: words, matrix: matrix)
    }

    /// Loads a NumPy matrix with its word list (the GloVe asset's layout).
    public convenience init(numpy matrixPath: String, words wordsPath: String) throws(WordVectorsError) {
        let matrix = try NumpyArray.load(matrixPath)
        let file: MappedFile
        do { file = try MappedFile(path: wordsPath) } catch { throw WordVectorsError(path: wordsPath, problem: error.reason) }
        var words: [String] = []
        if let base = file.base {
            var lines = UnsafeRawBufferPointer(start: base, count: file.size).split(separator: 10, omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }  // the final newline
            for (i, raw) in lines.enumerated() {
                let line = raw.last == 13 ? raw.dropLast() : raw[...]
                guard let w = String(validating: line, as: UTF8.self) else {
                    throw WordVectorsError(path: wordsPath, problem: "line \(i + 1) is not valid UTF-8")
                }
                words.append(w)
            }
        }
        guard matrix.rank == 2, words.count == matrix.shape[0] else {
            throw WordVectorsError(path: wordsPath, problem: "\(words.count) words for a matrix of shape \(matrix.shape) in \(matrixPath)")
        }
        try self.init(words: words, matrix: matrix)
    }

    static func readText(_ bytes: UnsafeRawBufferPointer, header: Bool, path: String) throws(WordVectorsError) -> ([String], Tensor) {
        func fail(_ line: Int, _ problem: String) -> WordVectorsError { WordVectorsError(path: path, problem: "line \(line): \(problem)") }
        var lines = bytes.split(separator: 10, omittingEmptySubsequences: true)[...]
        var expected: Int?
        var dimension: Int?
        if header {
            guard let first = lines.popFirst() else { throw fail(1, "missing the 'count dimension' header") }
            let parts = first.split(separator: 32)
            guard parts.count == 2, let c = Int(String(decoding: parts[0], as: UTF8.self)),
                let d = Int(String(decoding: parts[1], as: UTF8.self)), c >= 0, d > 0
            else {
                throw fail(1, "the header must be 'count dimension', got '\(String(decoding: first, as: UTF8.self))'")
            }
            expected = c
            dimension = d
        }
        var words: [String] = []
        var values: [Float] = []
        var number = [CChar](repeating: 0, count: 64)
        let firstLine = header ? 2 : 1
        for (offset, raw) in lines.enumerated() {
            let lineNumber = firstLine + offset
            var line = raw[...]
            if line.last == 13 { line = line.dropLast() }  // CRLF
            let fields = line.split(separator: 32)
            if fields.isEmpty { continue }
            guard let word = String(validating: fields[0], as: UTF8.self) else { throw fail(lineNumber, "the word is not valid UTF-8") }
            let d = fields.count - 1
            if dimension == nil { dimension = d }
            guard d == dimension, d > 0 else { throw fail(lineNumber, "'\(word)' has \(d) numbers, expected \(dimension ?? 0)") }
            for field in fields.dropFirst() {
                guard field.count < number.count else { throw fail(lineNumber, "a number is too long") }
                for (i, b) in field.enumerated() { number[i] = CChar(bitPattern: b) }
                number[field.count] = 0
                var end: UnsafeMutablePointer<CChar>?
                let v = number.withUnsafeMutableBufferPointer { p -> Float in
                    let v = strtof(p.baseAddress!, &end)
                    if end != p.baseAddress! + field.count { end = nil }
                    return v
                }
                guard end != nil, v.isFinite else { throw fail(lineNumber, "'\(String(decoding: field, as: UTF8.self))' is not a number") }
                values.append(v)
            }
            words.append(word)
        }
        if let expected, expected != words.count {
            throw WordVectorsError(path: path, problem: "the header announces \(expected) words, the file has \(words.count)")
        }
        guard let dimension, !words.isEmpty else { throw WordVectorsError(path: path, problem: "no vectors in the file") }
        return (words, Tensor(shape: [words.count, dimension], scalars: values))
    }

    static func readBinary(_ bytes: UnsafeRawBufferPointer, path: String) throws(WordVectorsError) -> ([String], Tensor) {
        func fail(_ problem: String) -> WordVectorsError { WordVectorsError(path: path, problem: problem) }
        guard let newline = bytes.firstIndex(of: 10) else { throw fail("missing the 'count dimension' header") }
        let parts = bytes[0..<newline].split(separator: 32)
        guard parts.count == 2, let count = Int(String(decoding: parts[0], as: UTF8.self)),
            let dimension = Int(String(decoding: parts[1], as: UTF8.self)), count >= 0, dimension > 0
        else {
            throw fail("the header must be 'count dimension'")
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: dimension)
        guard !overflow, total * 4 <= bytes.count else {
            throw fail("the header announces \(count) × \(dimension) floats, more than the file holds")
        }
        var words: [String] = []
        words.reserveCapacity(count)
        var values = [Float](repeating: 0, count: total)
        var p = newline + 1
        for entry in 0..<count {
            while p < bytes.count && (bytes[p] == 10 || bytes[p] == 13) { p += 1 }
            let start = p
            while p < bytes.count && bytes[p] != 32 { p += 1 }
            guard p < bytes.count else { throw fail("entry \(entry + 1) of \(count): the file ends inside a word (truncated)") }
            guard let word = String(validating: bytes[start..<p], as: UTF8.self), !word.isEmpty else {
                throw fail("entry \(entry + 1): the word is empty or not valid UTF-8")
            }
            p += 1
            guard p + 4 * dimension <= bytes.count else {
                throw fail("entry \(entry + 1) ('\(word)'): the file ends inside its vector (truncated)")
            }
            for j in 0..<dimension {
                let v = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: p + 4 * j, as: UInt32.self)))
                guard v.isFinite else { throw fail("entry \(entry + 1) ('\(word)'): component \(j) is not finite") }
                values[entry * dimension + j] = v
            }
            p += 4 * dimension
            words.append(word)
        }
        let out = Tensor(shape: [count, dimension], scalars: values)
        return (words, out)
    }

    /// Writes the vectors in `format` (word2vec binary, word2vec text or GloVe text), atomically.
    public func write(to path: String, format: Format) throws(WordVectorsError) {
        let values = matrix.contiguous().floats
        var out: [UInt8] = []
        out.reserveCapacity(format == .word2vecBinary ? count * (dimension * 4 + 16) : count * dimension * 12)
        if format != .gloveText { out += Array("\(count) \(dimension)\n".utf8) }
        for (i, word) in words.enumerated() {
            out += Array(word.utf8)
            let row = values[(i * dimension)..<((i + 1) * dimension)]
            if format == .word2vecBinary {
                out.append(32)
                for v in row { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
                out.append(10)
            } else {
                // Swift prints the shortest representation that reads back to the same Float.
                for v in row { out.append(32); out += Array("\(v)".utf8) }
                out.append(10)
            }
        }
        do { try AtomicFile.write(out, to: path) } catch { throw WordVectorsError(path: path, problem: "\(error)") }
    }
}

import Foundation
import LMKitTensor
import LMKitTokenizers

/// A corpus tokenized once into compact token files, memory-mapped for training: `train.bin` and
/// `val.bin` hold little-endian `UInt16` ids (or `UInt32` when the vocabulary needs it), `meta.json`
/// says how they were made (nanoGPT's `prepare.py` layout). The validation split is the end of the
/// corpus, so no text is in both.
public final class TokenData: @unchecked Sendable {
    /// The contents of `meta.json`: what the token files were made from, and their sizes.
    public struct Meta: Codable, Equatable, Sendable {
        /// Path of the text file tokenized.
        public var corpus: String
        /// Size of the corpus file in bytes when it was tokenized.
        public var corpusBytes: Int
        /// Modification time of the corpus file when it was tokenized, seconds since 1970.
        public var corpusModified: Double
        /// The tokenizer as configured: "char", "gpt2" or a path.
        public var tokenizer: String
        /// Vocabulary size of the tokenizer (`vocabularySize` in the file).
        public var vocabSize: Int
        /// Bytes per id in the `.bin` files: 2 (`UInt16`), or 4 (`UInt32`) above 65,536 tokens.
        public var bytesPerToken: Int
        /// Ids in `train.bin`.
        public var trainTokens: Int
        /// Ids in `val.bin`.
        public var validationTokens: Int
        /// Share of the corpus bytes, taken from its end, in the validation split (cut at a line break).
        public var validationFraction: Double

        /// The keys of `meta.json` files already written (`vocabularySize` from before the rename).
        enum CodingKeys: String, CodingKey {
            case corpus, corpusBytes, corpusModified, tokenizer, vocabSize = "vocabularySize", bytesPerToken, trainTokens
            case validationTokens, validationFraction
        }
    }

    /// How the token files were made, and how many ids each split holds.
    public let meta: Meta
    let train: MappedFile
    let validation: MappedFile

    /// Which token file to read: `train.bin` or `val.bin`.
    public enum Split: String, Sendable { case train, validation }

    /// Tokens in a split.
    public func count(_ split: Split) -> Int { split == .train ? meta.trainTokens : meta.validationTokens }

    /// Tokenizes `corpus` into `folder` unless the folder already holds it for the same corpus
    /// (size and modification time) and tokenizer; then just maps it.
    public static func prepare(
        corpus: String, tokenizer: Tokenizer, tokenizerName: String, folder: String,
        validationFraction: Double = 0.1
    ) throws -> TokenData {
        let attributes = try FileManager.default.attributesOfItem(atPath: corpus)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let metaPath = folder + "/meta.json"
        if let data = FileManager.default.contents(atPath: metaPath), let meta = try? JSONDecoder().decode(Meta.self, from: data),
            meta.corpus == corpus, meta.corpusBytes == size, meta.corpusModified == modified, meta.tokenizer == tokenizerName,
            meta.validationFraction == validationFraction
        {
            return try TokenData(folder: folder, meta: meta)
        }
        guard let raw = FileManager.default.contents(atPath: corpus) else { throw TrainingError("\(corpus): cannot read the corpus") }
        guard let text = String(validating: raw, as: UTF8.self) else { throw TrainingError("\(corpus): the corpus is not valid UTF-8") }
        guard validationFraction > 0 && validationFraction < 0.5 else {
            throw TrainingError("validation fraction \(validationFraction) must be in (0, 0.5)")
        }
        // Cut at a line boundary near the split point, so each part tokenizes on its own.
        let bytes = Array(text.utf8)
        let target = max(1, Int(Double(bytes.count) * (1 - validationFraction)))
        var cut = target
        while cut < bytes.count && bytes[cut - 1] != 0x0A { cut += 1 }
        if cut >= bytes.count {
            // No line break after the split point: cut at a character boundary instead.
            cut = target
            while cut < bytes.count && bytes[cut] & 0xC0 == 0x80 { cut += 1 }
        }
        let trainText = String(decoding: bytes[..<cut], as: UTF8.self)
        let valText = String(decoding: bytes[cut...], as: UTF8.self)
        let trainIDs = try tokenizer.encodeIDs(trainText, specialTokens: .text)
        let valIDs = try tokenizer.encodeIDs(valText, specialTokens: .text)
        guard trainIDs.count > 1, valIDs.count > 1 else { throw TrainingError("\(corpus): too little text to train on") }
        let width = tokenizer.vocabSize <= 65536 ? 2 : 4
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, ids) in [("train.bin", trainIDs), ("val.bin", valIDs)] {
            var out = [UInt8](repeating: 0, count: ids.count * width)
            for (i, id) in ids.enumerated() {
                for b in 0..<width { out[i * width + b] = UInt8(truncatingIfNeeded: id >> (8 * b)) }
            }
            try AtomicFile.write(out, to: folder + "/" + name)
        }
        let meta = Meta(
            corpus: corpus, corpusBytes: size, corpusModified: modified, tokenizer: tokenizerName,
            vocabSize: tokenizer.vocabSize, bytesPerToken: width, trainTokens: trainIDs.count,
            validationTokens: valIDs.count, validationFraction: validationFraction)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(meta)), to: metaPath)
        return try TokenData(folder: folder, meta: meta)
    }

    init(folder: String, meta: Meta) throws {
        self.meta = meta
        train = try MappedFile(path: folder + "/train.bin")
        validation = try MappedFile(path: folder + "/val.bin")
        guard train.size == meta.trainTokens * meta.bytesPerToken, validation.size == meta.validationTokens * meta.bytesPerToken else {
            throw TrainingError("\(folder): train.bin / val.bin do not have the sizes meta.json gives; delete the folder to rebuild it")
        }
    }

    /// The id at `index` of a split.
    @inline(__always)
    func token(_ split: Split, _ index: Int) -> Int {
        let file = split == .train ? train : validation
        let p = UnsafeRawPointer(file.base!) + index * meta.bytesPerToken
        return meta.bytesPerToken == 2 ? Int(p.loadUnaligned(as: UInt16.self)) : Int(p.loadUnaligned(as: UInt32.self))
    }

    /// `batch` random windows of `context + 1` tokens: inputs `[B, T]` and next-token targets `[B, T]`.
    public func batch(_ split: Split, size batch: Int, context: Int, generator: inout RandomGenerator) -> (inputs: Tensor, targets: Tensor)
    {
        let n = count(split)
        precondition(n > context + 1, "the \(split) split has \(n) tokens, fewer than the context \(context) + 1")
        var x: [Int] = [], y: [Int] = []
        x.reserveCapacity(batch * context)
        y.reserveCapacity(batch * context)
        for _ in 0..<batch {
            let start = Int(generator.next() % UInt64(n - context - 1))
            for t in 0..<context {
                x.append(token(split, start + t))
                y.append(token(split, start + t + 1))
            }
        }
        return (Tensor(indices: x, shape: [batch, context]), Tensor(indices: y, shape: [batch, context]))
    }

    /// Consecutive windows covering a split (for a full validation pass).
    public func windows(_ split: Split, context: Int) -> [(inputs: [Int], targets: [Int])] {
        let n = count(split)
        var out: [(inputs: [Int], targets: [Int])] = []
        var start = 0
        while start + context + 1 <= n {
            out.append(((start..<(start + context)).map { token(split, $0) }, ((start + 1)...(start + context)).map { token(split, $0) }))
            start += context
        }
        return out
    }
}

/// A training run that cannot go on, with the reason.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    /// The reason, as a sentence for the user.
    public let description: String
    /// An error that reports `description`.
    public init(_ description: String) { self.description = description }
}

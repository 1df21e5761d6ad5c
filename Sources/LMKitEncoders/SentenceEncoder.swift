// Sentence embeddings as sentence-transformers computes them (Reimers & Gurevych 2019,
// "Sentence-BERT"): an encoder, a pooling of its token vectors (mean over the real tokens for
// all-MiniLM-L6-v2), then optionally L2 normalization. The folder's `modules.json`,
// `1_Pooling/config.json` and `sentence_bert_config.json` say which.
import Foundation
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// A sentence-transformers model folder (or any BERT-family folder, with mean pooling).
public final class SentenceEncoder {
    /// How token vectors become one sentence vector.
    public enum Pooling: String, Sendable, CaseIterable {
        /// Average of the real (unpadded) tokens.
        case mean
        /// The `[CLS]` vector.
        case cls
        /// Element-wise maximum over the real tokens.
        case max
        /// Sum over the real tokens divided by √length.
        case meanSqrtLength = "mean_sqrt_len"
    }

    /// The transformer whose token vectors are pooled, in evaluation mode.
    public let encoder: TransformerEncoder
    /// The folder's tokenizer, truncating at `max_seq_length` (or the model's positions).
    public let tokenizer: EncoderTokenizer
    /// How token vectors are pooled (`1_Pooling/config.json`; mean when the folder does not say).
    public let pooling: Pooling
    /// Whether embeddings are scaled to unit length (a `Normalize` module in `modules.json`).
    public let normalizes: Bool
    /// The model folder it was loaded from.
    public let folder: String

    /// Loads `folder`; `maxLength` overrides `sentence_bert_config.json`'s `max_seq_length`.
    public init(folder: String, maxLength: Int? = nil) throws {
        let (encoder, _) = try TransformerEncoder.load(folder: folder)
        encoder.eval()
        self.encoder = encoder
        self.folder = folder
        let settings = try SentenceTransformerSettings(folder: folder)
        pooling = settings.pooling
        normalizes = settings.normalize
        tokenizer = try EncoderTokenizer(folder: folder, config: encoder.config, maxLength: maxLength ?? settings.maxLength)
    }

    /// The embedding width.
    public var dimension: Int { encoder.config.width }

    /// Embeds `texts`, `batchSize` at a time (longest first, so batches pad little); returns one
    /// vector per text in the input order.
    public func encode(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        var out = [[Float]](repeating: [], count: texts.count)
        for group in lengthSortedBatches(texts, size: batchSize) {
            let batch = try tokenizer.batch(group.map { texts[$0] })
            let vectors = GradMode.withoutGradient { embed(batch) }
            for (row, i) in group.enumerated() { out[i] = vectors[row] }
        }
        return out
    }

    /// Pooled (and normalized) vectors of one padded batch.
    func embed(_ batch: EncoderBatch) -> [[Float]] {
        let h = encoder(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask).lastHiddenState  // (B, T, C)
        let (b, t, c) = (h.shape[0], h.shape[1], h.shape[2])
        let values = h.scalars(as: Float.self)
        let mask = batch.attentionMask.indexValues
        var out: [[Float]] = []
        out.reserveCapacity(b)
        for i in 0..<b {
            var v = [Float](repeating: pooling == .max ? -.infinity : 0, count: c)
            var tokens = 0
            for j in 0..<t where mask[i * t + j] != 0 {
                tokens += 1
                let row = (i * t + j) * c
                switch pooling {
                case .max: for k in 0..<c { v[k] = Swift.max(v[k], values[row + k]) }
                case .mean, .meanSqrtLength: for k in 0..<c { v[k] += values[row + k] }
                case .cls: break
                }
            }
            switch pooling {
            case .cls: v = Array(values[(i * t) * c..<(i * t) * c + c])
            case .mean: let n = Float(Swift.max(tokens, 1)); for k in 0..<c { v[k] /= n }
            case .meanSqrtLength: let n = Float(Swift.max(tokens, 1)).squareRoot(); for k in 0..<c { v[k] /= n }
            case .max: break
            }
            if normalizes {
                // torch.nn.functional.normalize: v / max(‖v‖, 1e-12)
                let norm = Swift.max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                for k in 0..<c { v[k] /= norm }
            }
            out.append(v)
        }
        return out
    }

    /// Cosine similarity of two vectors.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "cosine of vectors of different lengths")
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
        }
        return na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot())
    }

    /// The cosine similarity of every pair of `vectors` (a symmetric matrix with ones on the diagonal).
    public static func similarityMatrix(_ vectors: [[Float]]) -> [[Double]] {
        vectors.map { a in vectors.map { b in cosine(a, b) } }
    }
}

/// What a sentence-transformers folder says about pooling, normalization and length.
struct SentenceTransformerSettings {
    var pooling: SentenceEncoder.Pooling = .mean
    var normalize = false
    var maxLength: Int?

    init(folder: String) throws {
        func json(_ name: String) throws -> Any? {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            guard let value = try? JSONSerialization.jsonObject(with: data) else { throw ModelError("\(path): not valid JSON") }
            return value
        }
        var poolingFolder = "1_Pooling"
        if let modules = try json("modules.json") {
            guard let list = modules as? [[String: Any]] else { throw ModelError("\(folder)/modules.json: expected a list of modules") }
            for module in list {
                let type = module["type"] as? String ?? ""
                switch type.split(separator: ".").last.map(String.init) ?? "" {
                case "Transformer": break
                case "Pooling": poolingFolder = module["path"] as? String ?? poolingFolder
                case "Normalize": normalize = true
                default:
                    throw ModelError("\(folder)/modules.json: module \"\(type)\" is not supported (Transformer, Pooling, Normalize)")
                }
            }
        }
        if let config = try json(poolingFolder + "/config.json") as? [String: Any] {
            let modes: [(String, SentenceEncoder.Pooling)] = [
                ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
                ("pooling_mode_max_tokens", .max), ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLength),
            ]
            let chosen = modes.filter { config[$0.0] as? Bool == true }
            guard chosen.count == 1 else {
                throw ModelError(
                    "\(folder)/\(poolingFolder)/config.json: exactly one pooling mode must be set (LMKit does not concatenate several), got \(chosen.map(\.0))"
                )
            }
            pooling = chosen[0].1
        }
        if let config = try json("sentence_bert_config.json") as? [String: Any] {
            maxLength = config["max_seq_length"] as? Int
        }
    }
}

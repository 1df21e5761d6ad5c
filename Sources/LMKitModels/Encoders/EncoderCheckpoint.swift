import Foundation
import LMKitNN
import LMKitTensor

/// How BERT-family checkpoints map onto LMKit's modules, in one place.
///
/// A folder may hold a base model (`BertModel`: `embeddings.…`, `encoder.…`, `pooler.…`) or a task
/// model whose encoder sits under `bert.` / `distilbert.` beside its head. Loading accepts both,
/// renames the `gamma`/`beta` LayerNorm keys of old checkpoints, drops buffers (`position_ids`) and the
/// copies of tied weights, and sets aside the heads of other tasks (named in ``LoadReport/ignored``).
/// Anything else that does not fit is an error naming every key. Loaded models are in evaluation
/// mode (dropout off), as `from_pretrained` leaves them.
public enum EncoderCheckpoint {
    /// Keys of encoder weights when they carry no prefix.
    static let encoderRoots = ["embeddings.", "encoder.", "pooler.", "transformer."]
    /// Heads of every task `transformers` defines for these families.
    static let headRoots = [
        "classifier.", "pre_classifier.", "cls.", "vocab_transform.", "vocab_layer_norm.",
        "vocab_projector.", "qa_outputs.",
    ]
    /// Copies of the word-embedding matrix (tied weights) and of the output bias.
    static let tiedCopies = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias", "vocab_projector.weight"]

    /// What loading did besides reading the weights it needed.
    public struct LoadReport: Sendable {
        /// Weights the folder lacks, initialized fresh (a new classification head, a missing pooler).
        public var newlyInitialized: [String] = []
        /// Weights in the folder that this model does not use (another task's head).
        public var ignored: [String] = []
    }

    /// The configuration of a model folder.
    public static func config(folder: String) throws(ModelError) -> EncoderConfig {
        let path = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError("\(path): cannot read the file (a Hugging Face model folder has config.json)")
        }
        return try EncoderConfig(json: data, source: path)
    }

    /// Splits checkpoint tensors into encoder weights (unprefixed), head weights, and the stored copies
    /// of tied weights.
    static func split(_ tensors: [String: Tensor], family: EncoderConfig.Family, source: String) throws(ModelError)
        -> (encoder: [String: Tensor], head: [String: Tensor], tied: [String: Tensor])
    {
        var encoder: [String: Tensor] = [:], head: [String: Tensor] = [:], tied: [String: Tensor] = [:], unknown: [String] = []
        let prefix = family.prefix + "."
        for (rawKey, t) in tensors {
            var key = rawKey
            if key.hasSuffix(".gamma") { key = String(key.dropLast(6)) + ".weight" }
            if key.hasSuffix(".beta") { key = String(key.dropLast(5)) + ".bias" }
            if key.hasSuffix(".position_ids") || key.hasSuffix(".token_type_ids") { continue }
            if tiedCopies.contains(key) { tied[key] = t; continue }
            if key.hasPrefix(prefix) {
                encoder[String(key.dropFirst(prefix.count))] = t
            } else if encoderRoots.contains(where: { key.hasPrefix($0) }) {
                encoder[key] = t
            } else if headRoots.contains(where: { key.hasPrefix($0) }) {
                head[key] = t
            } else {
                unknown.append(rawKey)
            }
        }
        guard unknown.isEmpty else {
            throw ModelError(
                "\(source): keys that belong to no \(family.rawValue) encoder or head (\(unknown.count)): \(unknown.sorted().prefix(8).joined(separator: ", "))"
            )
        }
        return (encoder, head, tied)
    }

    /// Loads `module`'s parameters strictly from `tensors`, after drawing fresh values for the
    /// (linear-layer) keys in `optional` that `tensors` lacks: N(0, `std`) weights, zero biases,
    /// reported as newly initialized.
    static func load(
        _ module: Module, _ tensors: [String: Tensor], optional: (String) -> Bool, std: Double, seed: UInt64 = 0,
        source: String, report: inout LoadReport
    ) throws(ModelError) {
        var all = tensors
        var generator = RandomGenerator(seed: seed &+ 0x4EAD)
        for (name, p) in module.namedParameters() where all[name] == nil && optional(name) {
            let shape = p.value.shape
            all[name] = shape.count >= 2 ? Tensor.randomNormal(shape, std: std, generator: &generator) : Tensor.zeros(shape)
            report.newlyInitialized.append(name)
        }
        do { try module.load(all) } catch { throw ModelError("\(source): \(error.description)") }
    }

    /// Writes `config.json` and `model.safetensors` (atomically) that `transformers` loads as `architecture`.
    static func save(_ module: Module, config: EncoderConfig, architecture: String, folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Array(config.json(architecture: architecture)), to: (folder as NSString).appendingPathComponent("config.json"))
        try SafetensorsFile.write(
            module.stateDict(), metadata: ["format": "pt"],
            to: (folder as NSString).appendingPathComponent("model.safetensors"))
    }
}

extension TransformerEncoder {
    /// Loads the encoder of a model folder: a base model, or the encoder of a task model (whose head is
    /// set aside). BERT's pooler is kept when the folder has one.
    public static func load(folder: String) throws(ModelError) -> (TransformerEncoder, EncoderCheckpoint.LoadReport) {
        let config = try EncoderCheckpoint.config(folder: folder)
        let (encoderTensors, head, _) = try EncoderCheckpoint.split(try folderTensors(folder), family: config.family, source: folder)
        let model = try TransformerEncoder(config, pooler: encoderTensors["pooler.dense.weight"] != nil, randomInit: false)
        var report = EncoderCheckpoint.LoadReport(ignored: head.keys.sorted())
        try EncoderCheckpoint.load(
            model, encoderTensors, optional: { _ in false }, std: config.initializerRange, source: folder, report: &report)
        model.eval()
        return (model, report)
    }

    /// Writes the folder `transformers` loads as `BertModel` / `DistilBertModel`.
    public func save(folder: String) throws {
        try EncoderCheckpoint.save(
            self, config: config, architecture: config.family == .bert ? "BertModel" : "DistilBertModel", folder: folder)
    }
}

extension SequenceClassificationModel {
    /// Loads a classifier from a model folder.
    ///
    /// - With `labels` nil the folder must hold a `*ForSequenceClassification` head; its labels come from
    ///   `id2label`.
    /// - With `labels`, a head for exactly those labels is loaded when the folder has one, and otherwise
    ///   a new head is initialized on the folder's encoder (transfer learning; reported as newly
    ///   initialized, as is a BERT pooler the folder lacks).
    public static func load(folder: String, labels: [String]? = nil, seed: UInt64 = 0) throws(ModelError)
        -> (SequenceClassificationModel, EncoderCheckpoint.LoadReport)
    {
        let config = try EncoderCheckpoint.config(folder: folder)
        let (encoderTensors, head, _) = try EncoderCheckpoint.split(try folderTensors(folder), family: config.family, source: folder)
        let headRows = head["classifier.weight"]?.shape.first
        let folderLabels = headRows.map { rows in config.labels.count == rows ? config.labels : (0..<rows).map { "LABEL_\($0)" } }
        let useHead: Bool
        let chosen: [String]
        if let labels {
            useHead = folderLabels == labels
            chosen = labels
        } else {
            guard let folderLabels else {
                throw ModelError(
                    "\(folder): no classification head (classifier.weight) in the checkpoint; fine-tune one with `lmkit finetune classifier --model \(folder)`"
                )
            }
            useHead = true
            chosen = folderLabels
        }
        let model = try SequenceClassificationModel(config, labels: chosen, seed: seed, randomInit: false)
        let prefix = config.family.prefix + "."
        var tensors = Dictionary(uniqueKeysWithValues: encoderTensors.map { (prefix + $0.key, $0.value) })
        var report = EncoderCheckpoint.LoadReport()
        let headKeys = Set(model.namedParameters().map(\.name).filter { !$0.hasPrefix(prefix) })
        for (k, t) in head {
            if useHead && headKeys.contains(k) { tensors[k] = t } else { report.ignored.append(k) }
        }
        report.ignored.sort()
        try EncoderCheckpoint.load(
            model, tensors, optional: { name in !useHead && headKeys.contains(name) || name.hasPrefix(prefix + "pooler.") },
            std: config.initializerRange, seed: seed, source: folder, report: &report)
        model.eval()
        return (model, report)
    }

    /// Writes the folder `transformers` loads as `BertForSequenceClassification` /
    /// `DistilBertForSequenceClassification` (labels in `id2label`).
    public func save(folder: String) throws {
        try EncoderCheckpoint.save(self, config: config, architecture: config.architecture("ForSequenceClassification"), folder: folder)
    }
}

extension MaskedLanguageModel {
    /// Loads a `*ForMaskedLM` (or `BertForPreTraining`) folder. The encoder-only folders have no
    /// masked-LM head: that is an error naming the missing keys.
    public static func load(folder: String) throws(ModelError) -> (MaskedLanguageModel, EncoderCheckpoint.LoadReport) {
        let config = try EncoderCheckpoint.config(folder: folder)
        let (encoderTensors, head, tied) = try EncoderCheckpoint.split(try folderTensors(folder), family: config.family, source: folder)
        let model = try MaskedLanguageModel(config, randomInit: false)
        let prefix = config.family.prefix + "."
        var tensors: [String: Tensor] = [:]
        var report = EncoderCheckpoint.LoadReport()
        for (k, t) in encoderTensors {
            if k.hasPrefix("pooler.") { report.ignored.append(prefix + k) } else { tensors[prefix + k] = t }
        }
        let headKeys = Set(model.namedParameters().map(\.name).filter { !$0.hasPrefix(prefix) })
        for (k, t) in head { if headKeys.contains(k) { tensors[k] = t } else { report.ignored.append(k) } }
        report.ignored.sort()
        if !headKeys.contains(where: { tensors[$0] != nil }) {
            throw ModelError(
                "\(folder): no masked-LM head in the checkpoint (expected \(headKeys.sorted().joined(separator: ", "))); architectures: \(config.architectures)"
            )
        }
        try EncoderCheckpoint.load(model, tensors, optional: { _ in false }, std: config.initializerRange, source: folder, report: &report)
        // The decoder is the word-embedding matrix; a stored copy must be that matrix.
        let embeddings = model.encoder.embeddings.word.weight.value
        for key in ["cls.predictions.decoder.weight", "vocab_projector.weight"] {
            guard let copy = tied[key] else { continue }
            guard copy.shape == embeddings.shape, copy.scalars(as: Float.self) == embeddings.scalars(as: Float.self) else {
                throw ModelError("\(folder): \(key) differs from the word embeddings; untied masked-LM decoders are not supported")
            }
        }
        model.eval()
        return (model, report)
    }

    /// Writes the folder `transformers` loads as `BertForMaskedLM` / `DistilBertForMaskedLM`.
    public func save(folder: String) throws {
        try EncoderCheckpoint.save(self, config: config, architecture: config.architecture("ForMaskedLM"), folder: folder)
    }
}

/// The folder's tensors, with file errors as ``ModelError``.
private func folderTensors(_ folder: String) throws(ModelError) -> [String: Tensor] {
    do { return try ModelFolder.tensors(in: folder) } catch let e as ModelError { throw e } catch {
        throw ModelError("\(folder): \(error)")
    }
}

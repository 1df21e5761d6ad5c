import Foundation
import LMKitAssets
import LMKitEncoders
import LMKitModels
import LMKitTensor
import Testing
import TestSupport

/// BERT and DistilBERT against transformers 5.23 (Tools/golden/encoders_golden.py): four tiny random
/// models saved by `save_pretrained` (classification and masked-LM heads of both families), compared
/// on a padded batch of four texts (one a BERT text pair): logits, every layer's hidden states and
/// every layer's attention probabilities, whole tensors, |Δ| ≤ 1e-5 + 1e-4·|reference|.
@Suite struct TinyEncoderParityTests {
    static let folders = ["tiny-bert-cls", "tiny-bert-mlm", "tiny-distilbert-cls", "tiny-distilbert-mlm"]

    func expectClose(_ actual: Tensor, _ expected: Tensor, _ what: String) {
        let c = compare(actual, expected, rtol: 1e-4, atol: 1e-5)
        #expect(c.withinTolerance, "\(what): \(c)")
    }

    @Test(arguments: folders) func logitsHiddenStatesAndAttentions(folder: String) throws {
        let golden = try SafetensorsFile(path: fixturePath("encoders/goldens/\(folder).safetensors")).tensors()
        let path = fixturePath("encoders/\(folder)")
        let ids = try #require(golden["input_ids"]), mask = try #require(golden["attention_mask"])
        let types = golden["token_type_ids"]
        let encoder: TransformerEncoder
        let logits: (Tensor) -> Tensor
        if folder.hasSuffix("cls") {
            let (model, report) = try SequenceClassificationModel.load(folder: path)
            #expect(report.newlyInitialized.isEmpty && report.ignored.isEmpty, "\(report)")
            model.eval()
            encoder = model.encoder
            logits = model.logits
        } else {
            let (model, report) = try MaskedLanguageModel.load(folder: path)
            #expect(report.newlyInitialized.isEmpty && report.ignored.isEmpty, "\(report)")
            model.eval()
            encoder = model.encoder
            logits = model.logits
        }
        let out = encoder(ids, typeIDs: types, attentionMask: mask, outputHiddenStates: true, outputAttentions: true)
        expectClose(logits(out.lastHiddenState), try #require(golden["logits"]), "\(folder) logits")
        #expect(out.hiddenStates.count == encoder.config.layers + 1 && out.attentions.count == encoder.config.layers)
        for (i, h) in out.hiddenStates.enumerated() {
            expectClose(h, try #require(golden["hidden_states.\(i)"]), "\(folder) hidden state \(i)")
        }
        for (i, a) in out.attentions.enumerated() {
            expectClose(a, try #require(golden["attentions.\(i)"]), "\(folder) attention \(i)")
        }
        if let pooled = golden["pooler_output"] { expectClose(encoder.pooled(out.lastHiddenState), pooled, "\(folder) pooler") }
    }

    /// The tokenizer files of the fixture folders give the ids, token types and mask transformers fed
    /// its models (the texts are in the golden file's metadata; the fourth BERT input is a pair).
    @Test(arguments: folders) func tokenizerMatchesGoldenInputs(folder: String) throws {
        let file = try SafetensorsFile(path: fixturePath("encoders/goldens/\(folder).safetensors"))
        let golden = try file.tensors()
        let metadata = try #require(file.metadata["texts"])
        let texts = try #require(JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [Any])
        let firsts = texts.map { ($0 as? String) ?? (($0 as? [String])?[0] ?? "") }
        let seconds = texts.map { ($0 as? [String])?[1] }
        let config = try EncoderCheckpoint.config(folder: fixturePath("encoders/\(folder)"))
        let tokenizer = try EncoderTokenizer(folder: fixturePath("encoders/\(folder)"), config: config)
        let batch = try tokenizer.batch(firsts, pairs: seconds)
        #expect(batch.ids.shape == golden["input_ids"]?.shape)
        #expect(batch.ids.indexValues == golden["input_ids"]?.indexValues)
        #expect(batch.attentionMask.indexValues == golden["attention_mask"]?.indexValues)
        if let types = golden["token_type_ids"] { #expect(batch.typeIDs.indexValues == types.indexValues) }
    }
}

/// The real all-MiniLM-L6-v2 weights (asset) against transformers + sentence-transformers 6.2: the 12
/// committed sentences run as one padded batch; per sentence, the ids, the last hidden state
/// (|Δ| ≤ 1e-4·max|reference| + 1e-4·|reference|, whole tensor) and the sentence embedding
/// (cosine ≥ 0.99999); layer 3's attention of the first sentence.
@Suite struct MiniLMParityTests {
    @Test func hiddenStatesEmbeddingsAndAttention() throws {
        guard TestAssets.available(.minilm) else { return }
        let folder = (try TestAssets.store.path(.minilm) as NSString).deletingLastPathComponent
        let golden = try SafetensorsFile(path: fixturePath("encoders/goldens/minilm.safetensors")).tensors()
        let sentences = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixturePath("encoders/sentences.json")))) as? [String])
        let encoder = try SentenceEncoder(folder: folder)
        #expect(encoder.pooling == .mean && encoder.normalizes && encoder.tokenizer.maxLength == 256)

        let batch = try encoder.tokenizer.batch(sentences)
        let out = encoder.encoder(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask, outputAttentions: true)
        let t = batch.ids.shape[1]
        for (i, encoding) in batch.encodings.enumerated() {
            let n = batch.lengths[i]
            let ids = try #require(golden["input_ids.\(i)"])
            #expect(Array(encoding.ids.prefix(n)) == ids.indexValues, "ids of sentence \(i)")
            let expected = try #require(golden["last_hidden_state.\(i)"])
            let actual = out.lastHiddenState.selected(axis: 0, index: i).sliced(axis: 0, range: 0..<n).contiguous()
            let scale = expected.doubles.map(Swift.abs).max() ?? 1
            let c = compare(actual, expected, rtol: 1e-4, atol: 1e-4 * scale)
            #expect(c.withinTolerance, "last hidden state of sentence \(i): \(c)")
        }
        #expect(t == batch.lengths.max())
        let attention = out.attentions[3].selected(axis: 0, index: 0)
        let n0 = batch.lengths[0]
        let a0 = attention.sliced(axis: 1, range: 0..<n0).sliced(axis: 2, range: 0..<n0).contiguous()
        let c = compare(a0, try #require(golden["attentions.3"]), rtol: 1e-4, atol: 1e-5)
        #expect(c.withinTolerance, "layer 3 attention of sentence 0: \(c)")

        let embeddings = try encoder.encode(sentences)
        let reference = try #require(golden["embeddings"])
        let width = reference.shape[1]
        let r = reference.scalars(as: Float.self)
        for (i, e) in embeddings.enumerated() {
            let cosine = SentenceEncoder.cosine(e, Array(r[i * width..<(i + 1) * width]))
            #expect(cosine >= 0.99999, "embedding of sentence \(i): cosine \(cosine)")
        }
        let c2 = compare(Tensor(shape: reference.shape, scalars: embeddings.flatMap { $0 }), reference, rtol: 1e-4, atol: 1e-5)
        #expect(c2.withinTolerance, "embeddings: \(c2)")
    }
}

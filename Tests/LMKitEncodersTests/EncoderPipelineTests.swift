import Foundation
import LMKitEncoders
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// Loading rules: prefixes, old key names, other tasks' heads, and clear errors for folders that do
/// not fit.
@Suite struct EncoderCheckpointTests {
    let bertCls = fixturePath("encoders/tiny-bert-cls")

    /// Copies a fixture folder and lets the test change its tensors or config.
    func variant(
        of folder: String, tensors change: (inout [String: Tensor]) -> Void = { _ in },
        config: ((inout [String: Any]) -> Void)? = nil
    ) throws -> TemporaryFolder {
        let copy = TemporaryFolder(prefix: "lmkit-encoder")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            try FileManager.default.copyItem(atPath: folder + "/" + name, toPath: copy.path + "/" + name)
        }
        var tensors = try SafetensorsFile(path: folder + "/model.safetensors").tensors()
        change(&tensors)
        try FileManager.default.removeItem(atPath: copy.path + "/model.safetensors")
        try SafetensorsFile.write(tensors, to: copy.path + "/model.safetensors")
        if let config {
            var root = try #require(
                JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))) as? [String: Any])
            config(&root)
            try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: copy.path + "/config.json"))
        }
        return copy
    }

    @Test func baseEncoderFromATaskFolderSetsTheHeadAside() throws {
        let (encoder, report) = try TransformerEncoder.load(folder: bertCls)
        #expect(encoder.pooler != nil)
        #expect(report.ignored == ["classifier.bias", "classifier.weight"])
    }

    @Test func unprefixedGammaBetaAndBuffersLoadLikeTheOriginal() throws {
        // A BertModel-style file: no `bert.` prefix, LayerNorm.gamma/beta, a position_ids buffer.
        let renamed = try variant(of: bertCls) { t in
            var out: [String: Tensor] = [:]
            for (k, v) in t {
                var key = k.hasPrefix("bert.") ? String(k.dropFirst(5)) : k
                if key.hasSuffix("LayerNorm.weight") { key = String(key.dropLast(6)) + "gamma" }
                if key.hasSuffix("LayerNorm.bias") { key = String(key.dropLast(4)) + "beta" }
                out[key] = v
            }
            out["embeddings.position_ids"] = Tensor(indices: Array(0..<64), shape: [1, 64])
            t = out
        }
        let (a, _) = try SequenceClassificationModel.load(folder: bertCls)
        let (b, report) = try SequenceClassificationModel.load(folder: renamed.path)
        #expect(report.newlyInitialized.isEmpty)
        let ids = Tensor(indices: [2, 20, 30, 40, 3], shape: [1, 5])
        a.eval(); b.eval()
        #expect(compare(b(ids), a(ids), rtol: 0, atol: 0).withinTolerance)
    }

    @Test func shardedFolderLoads() throws {
        let sharded = try variant(of: bertCls)
        let tensors = try SafetensorsFile(path: bertCls + "/model.safetensors").tensors()
        let keys = tensors.keys.sorted()
        let first = Dictionary(uniqueKeysWithValues: keys.prefix(20).map { ($0, tensors[$0]!) })
        let second = Dictionary(uniqueKeysWithValues: keys.dropFirst(20).map { ($0, tensors[$0]!) })
        try FileManager.default.removeItem(atPath: sharded.path + "/model.safetensors")
        try SafetensorsFile.write(first, to: sharded.path + "/model-00001-of-00002.safetensors")
        try SafetensorsFile.write(second, to: sharded.path + "/model-00002-of-00002.safetensors")
        var map: [String: String] = [:]
        for k in first.keys { map[k] = "model-00001-of-00002.safetensors" }
        for k in second.keys { map[k] = "model-00002-of-00002.safetensors" }
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map]).write(
            to: URL(fileURLWithPath: sharded.path + "/model.safetensors.index.json"))
        let (model, _) = try SequenceClassificationModel.load(folder: sharded.path)
        #expect(model.labels == ["negative", "neutral", "positive"])
    }

    @Test func newHeadForNewLabelsIsReported() throws {
        let (model, report) = try SequenceClassificationModel.load(folder: bertCls, labels: ["no", "yes"])
        #expect(model.labels == ["no", "yes"])
        #expect(Set(report.newlyInitialized) == ["classifier.weight", "classifier.bias"])
        #expect(report.ignored == ["classifier.bias", "classifier.weight"])
        // A base folder without a pooler: the pooler is new too.
        let noPooler = try variant(of: bertCls) { t in t = t.filter { !$0.key.contains("pooler") && !$0.key.hasPrefix("classifier") } }
        let (_, r2) = try SequenceClassificationModel.load(folder: noPooler.path, labels: ["a", "b"])
        #expect(Set(r2.newlyInitialized) == ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"])
    }

    @Test func everyBadKeyIsNamed() throws {
        let broken = try variant(of: bertCls) { t in
            t.removeValue(forKey: "bert.encoder.layer.1.output.dense.weight")
            t["bert.encoder.layer.0.attention.self.query.weight"] = Tensor.zeros([32, 31])
            t["bert.encoder.layer.9.extra.weight"] = Tensor.zeros([2])
        }
        #expect {
            _ = try SequenceClassificationModel.load(folder: broken.path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("bert.encoder.layer.1.output.dense.weight") && text.contains("[32, 31]")
                && text.contains("bert.encoder.layer.9.extra.weight")
        }
        let stray = try variant(of: bertCls) { t in t["lm_head.weight"] = Tensor.zeros([2, 2]) }
        #expect { _ = try TransformerEncoder.load(folder: stray.path) } throws: { "\($0)".contains("lm_head.weight") }
    }

    @Test func unsupportedOrBrokenConfigsAreClearErrors() throws {
        let roberta = try variant(of: bertCls, config: { $0["model_type"] = "roberta" })
        #expect { _ = try TransformerEncoder.load(folder: roberta.path) } throws: {
            "\($0)".contains(#""model_type": "roberta" is not an encoder"#)
        }
        let wrongType = try variant(of: bertCls, config: { $0["hidden_size"] = "32" })
        #expect { _ = try TransformerEncoder.load(folder: wrongType.path) } throws: {
            "\($0)".contains(#""hidden_size" must be an integer"#)
        }
        let decoder = try variant(of: bertCls, config: { $0["is_decoder"] = true })
        #expect { _ = try TransformerEncoder.load(folder: decoder.path) } throws: { "\($0)".contains(#""is_decoder": BERT as a decoder"#) }
        let relative = try variant(of: bertCls, config: { $0["position_embedding_type"] = "relative_key" })
        #expect { _ = try TransformerEncoder.load(folder: relative.path) } throws: { "\($0)".contains("relative_key") }
        let heads = try variant(of: bertCls, config: { $0["num_attention_heads"] = 5 })
        #expect { _ = try TransformerEncoder.load(folder: heads.path) } throws: { "\($0)".contains("not a multiple") }
        let noHead = try variant(of: bertCls) { t in t = t.filter { !$0.key.hasPrefix("classifier") } }
        #expect { _ = try SequenceClassificationModel.load(folder: noHead.path) } throws: { "\($0)".contains("no classification head") }
        #expect { _ = try MaskedLanguageModel.load(folder: bertCls) } throws: { "\($0)".contains("no masked-LM head") }
    }

    @Test func storedTiedDecoderMustEqualTheEmbeddings() throws {
        let mlm = fixturePath("encoders/tiny-bert-mlm")
        let same = try variant(of: mlm) { t in t["cls.predictions.decoder.weight"] = t["bert.embeddings.word_embeddings.weight"] }
        #expect(throws: Never.self) { _ = try MaskedLanguageModel.load(folder: same.path) }
        let untied = try variant(of: mlm) { t in
            t["cls.predictions.decoder.weight"] = Tensor.zeros(t["bert.embeddings.word_embeddings.weight"]!.shape)
        }
        #expect { _ = try MaskedLanguageModel.load(folder: untied.path) } throws: { "\($0)".contains("untied") }
    }

    @Test func truncatedWeightsAreAnErrorNotACrash() throws {
        let cut = try variant(of: bertCls)
        let data = try Data(contentsOf: URL(fileURLWithPath: bertCls + "/model.safetensors"))
        for length in [0, 7, 100, data.count / 2, data.count - 1] {
            try data.prefix(length).write(to: URL(fileURLWithPath: cut.path + "/model.safetensors"))
            #expect(throws: (any Error).self, "cut at \(length)") { _ = try SequenceClassificationModel.load(folder: cut.path) }
        }
    }

    /// Saved by LMKit, read back by LMKit: same labels, same logits (both families).
    @Test(arguments: ["tiny-bert-cls", "tiny-distilbert-cls"]) func saveThenLoadRoundTrips(folder: String) throws {
        let (model, _) = try SequenceClassificationModel.load(folder: fixturePath("encoders/\(folder)"))
        let out = TemporaryFolder(prefix: "lmkit-cls-save")
        try model.save(folder: out.path)
        let (again, report) = try SequenceClassificationModel.load(folder: out.path)
        #expect(report.newlyInitialized.isEmpty && again.labels == model.labels)
        model.eval(); again.eval()
        let ids = Tensor(indices: [2, 20, 30, 40, 3, 2, 50, 60, 3, 0], shape: [2, 5])
        let mask = Tensor(indices: [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], shape: [2, 5])
        #expect(compare(again(ids, attentionMask: mask), model(ids, attentionMask: mask), rtol: 0, atol: 0).withinTolerance)
    }
}

/// Pipelines on the tiny fixtures, checked against the goldens or against the encoder by hand.
@Suite struct EncoderPipelineTests {
    @Test func fillMaskScoresAreTheSoftmaxOfTheReferenceLogits() throws {
        let folder = fixturePath("encoders/tiny-bert-mlm")
        let golden = try SafetensorsFile(path: fixturePath("encoders/goldens/tiny-bert-mlm.safetensors")).tensors()
        let fill = try FillMask(folder: folder)
        let results = try fill.predict("the movie was [MASK] !", topK: 3)
        #expect(results.count == 1 && results[0].count == 3)
        // Reference: row 0 of the golden batch is this text; its mask is at position 4.
        let logits = try #require(golden["logits"])
        let ids = try #require(golden["input_ids"]).indexValues
        let t = try #require(golden["input_ids"]).shape[1], v = logits.shape[2]
        let position = try #require(ids.prefix(t).firstIndex(of: 4))
        let row = Array(logits.scalars(as: Float.self)[position * v..<(position + 1) * v]).map(Double.init)
        let top = row.max()!
        let total = row.reduce(0) { $0 + exp($1 - top) }
        let order = row.indices.sorted { row[$0] > row[$1] }
        for (k, c) in results[0].enumerated() {
            #expect(c.id == order[k])
            #expect(abs(c.score - exp(row[order[k]] - top) / total) < 1e-5)
            #expect(c.sequence.hasPrefix("the movie was "))
        }
        #expect(throws: (any Error).self) { _ = try fill.predict("no mask here") }
    }

    @Test func meanPoolingOfAPlainFolderMatchesTheEncoderByHand() throws {
        // A folder without sentence-transformers files: mean pooling, not normalized.
        let folder = fixturePath("encoders/tiny-distilbert-cls")
        let encoder = try SentenceEncoder(folder: folder)
        #expect(encoder.pooling == .mean && !encoder.normalizes)
        let texts = ["the movie was great !", "ok"]
        let vectors = try encoder.encode(texts)
        let batch = try encoder.tokenizer.batch(texts)
        let h = encoder.encoder(batch.ids, attentionMask: batch.attentionMask).lastHiddenState
        for (i, text) in texts.enumerated() {
            let n = batch.lengths[i]
            let rows = h.selected(axis: 0, index: i).sliced(axis: 0, range: 0..<n).mean(axis: 0)
            #expect(compare(Tensor(shape: [32], scalars: vectors[i]), rows, rtol: 1e-5, atol: 1e-6).withinTolerance, "\(text)")
        }
        // Batching and padding do not change a text's vector.
        let alone = try encoder.encode(["ok"])
        #expect(
            compare(Tensor(shape: [32], scalars: alone[0]), Tensor(shape: [32], scalars: vectors[1]), rtol: 1e-5, atol: 1e-6)
                .withinTolerance)
    }

    @Test func classifierProbabilitiesAreTheSoftmaxOfTheLogits() throws {
        let folder = fixturePath("encoders/tiny-bert-cls")
        let classifier = try TextClassifier(folder: folder)
        #expect(classifier.labels == ["negative", "neutral", "positive"])
        let predictions = try classifier.classify(["the movie was great !", "a dull , boring film that i did not like at all ."])
        let batch = try classifier.tokenizer.batch(["the movie was great !", "a dull , boring film that i did not like at all ."])
        let p = classifier.model(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask).softmax().scalars(as: Float.self)
        for (i, prediction) in predictions.enumerated() {
            #expect(abs(prediction.scores.reduce(0, +) - 1) < 1e-5)
            for j in 0..<3 { #expect(abs(prediction.scores[j] - Double(p[i * 3 + j])) < 1e-6) }
            #expect(prediction.score == prediction.scores.max())
        }
    }

    @Test func attentionMapRowsSumToOneAndMeanIsTheMeanOfHeads() throws {
        let folder = fixturePath("encoders/tiny-bert-cls")
        let (encoder, _) = try TransformerEncoder.load(folder: folder)
        let tokenizer = try EncoderTokenizer(folder: folder, config: encoder.config)
        let mean = try AttentionMap.compute(encoder: encoder, tokenizer: tokenizer, text: "the movie was great !", layer: 1, head: nil)
        let heads = try (0..<4).map {
            try AttentionMap.compute(encoder: encoder, tokenizer: tokenizer, text: "the movie was great !", layer: 1, head: $0)
        }
        #expect(mean.tokens == ["[CLS]", "the", "movie", "was", "great", "!", "[SEP]"])
        for (i, row) in mean.weights.enumerated() {
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            for j in row.indices { #expect(abs(row[j] - heads.map { $0.weights[i][j] }.reduce(0, +) / 4) < 1e-6) }
        }
        let svg = mean.svg()
        #expect(svg.hasPrefix("<svg") && svg.contains(">movie</text>") && svg.hasSuffix("</svg>\n"))
        #expect(throws: (any Error).self) {
            _ = try AttentionMap.compute(encoder: encoder, tokenizer: tokenizer, text: "x", layer: 2, head: nil)
        }
        #expect(throws: (any Error).self) {
            _ = try AttentionMap.compute(encoder: encoder, tokenizer: tokenizer, text: "x", layer: 0, head: 4)
        }
    }

    @Test func longTextsAreTruncatedToTheModelPositions() throws {
        let folder = fixturePath("encoders/tiny-bert-cls")
        let classifier = try TextClassifier(folder: folder)
        let long = Array(repeating: "the movie was great", count: 100).joined(separator: " ")
        let batch = try classifier.tokenizer.batch([long])
        #expect(batch.ids.shape == [1, 64])
        #expect(try classifier.classify([long]).count == 1)
    }
}

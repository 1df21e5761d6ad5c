import Foundation
import LMKitEncoders
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// Labelled-data formats, with their errors.
@Suite struct ClassificationDataTests {
    let folder = TemporaryFolder(prefix: "lmkit-data")

    func write(_ name: String, _ text: String) -> String {
        let path = folder.path + "/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func csvWithQuotesCommasAndLineBreaks() throws {
        let path = write(
            "reviews.csv", "id,review,sentiment\r\n1,\"Great, really \"\"great\"\" film\",pos\r\n2,\"two\nlines\",neg\n3,plain,pos\n")
        let data = try ClassificationData.load(path, textColumn: "review", labelColumn: "sentiment")
        #expect(
            data.train == [
                LabeledText(text: "Great, really \"great\" film", label: "pos"),
                LabeledText(text: "two\nlines", label: "neg"), LabeledText(text: "plain", label: "pos"),
            ])
        #expect(data.labels == ["neg", "pos"])
        #expect { _ = try ClassificationData.load(path) } throws: { "\($0)".contains("id, review, sentiment") }
        let open = write("open.csv", "text,label\n\"never closed,pos\n")
        #expect { _ = try ClassificationData.load(open) } throws: { "\($0)".contains("not closed") }
        let ragged = write("ragged.csv", "text,label\na,pos,extra\n")
        #expect { _ = try ClassificationData.load(ragged) } throws: { "\($0)".contains("ragged.csv:2") }
    }

    @Test func tsvJSONLinesAndFastText() throws {
        let tsv = try ClassificationData.load(write("d.tsv", "text\tlabel\nfine\t1\nbad\t0\nok\t10\n"))
        #expect(tsv.labels == ["0", "1", "10"])  // numeric labels in numeric order
        let jsonl = try ClassificationData.load(
            write("d.jsonl", "{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": \"0\"}\n"))
        #expect(jsonl.train == [LabeledText(text: "good", label: "1"), LabeledText(text: "bad", label: "0")])
        #expect { _ = try ClassificationData.load(write("e.jsonl", "{\"text\": \"good\", \"label\": 1}\n[1, 2]\n")) } throws: {
            "\($0)".contains("e.jsonl:2")
        }
        #expect { _ = try ClassificationData.load(write("f.jsonl", "{\"body\": \"good\", \"label\": 1}\n")) } throws: {
            "\($0)".contains("keys: body, label")
        }
        let ft = try ClassificationData.load(write("d.cor", "__label__neg simplistic , silly .\n__label__pos a gem .\n"))
        #expect(ft.train == [LabeledText(text: "simplistic , silly .", label: "neg"), LabeledText(text: "a gem .", label: "pos")])
        #expect { _ = try ClassificationData.load(write("d.txt", "no labels here\n")) } throws: { "\($0)".contains("fastText") }
    }

    @Test func encodingsAndInvalidUTF8() throws {
        let path = folder.path + "/cp.cor"
        // Windows-1252 bytes, by hand: an em dash is 0x97, é is 0xE9.
        var bytes = Array("__label__pos fun ".utf8) + [0x97] + Array(" caf".utf8) + [0xE9] + Array("\n".utf8)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect { _ = try ClassificationData.load(path) } throws: {
            "\($0)".contains("byte 0x97 at offset 17") && "\($0)".contains("--encoding")
        }
        #expect(try ClassificationData.load(path, encoding: .cp1252).train[0].text == "fun \u{2014} caf\u{E9}")
        #expect(try ClassificationData.load(path, encoding: .latin1).train[0].text == "fun \u{97} caf\u{E9}")
        bytes[17] = 0x81  // undefined in Windows-1252
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: DataError.self) { _ = try ClassificationData.load(path, encoding: .cp1252) }
    }

    @Test func aclImdbLayoutSkipsUnsupAndKeepsTest() throws {
        _ = write("aclImdb/train/pos/0_9.txt", "A fine film.<br /><br />Loved it.")
        _ = write("aclImdb/train/pos/1_8.txt", "Great.")
        _ = write("aclImdb/train/neg/0_2.txt", "Awful.")
        _ = write("aclImdb/train/unsup/0_0.txt", "No label.")
        _ = write("aclImdb/test/pos/0_10.txt", "Superb.")
        _ = write("aclImdb/test/neg/0_1.txt", "Dreadful.")
        _ = write("aclImdb/imdb.vocab", "the\n")
        let data = try ClassificationData.load(folder.path + "/aclImdb")
        #expect(data.train.count == 3 && data.test?.count == 2)
        #expect(data.train.filter { $0.label == "pos" }.count == 2 && !data.train.contains { $0.label == "unsup" })
        #expect(data.labels == ["neg", "pos"])
        let split = try ClassificationData.load(folder.path + "/aclImdb/train")
        #expect(split.train.count == 3 && split.test == nil)
        _ = write("one/pos/a.txt", "x")
        #expect { _ = try ClassificationData.load(folder.path + "/one") } throws: { "\($0)".contains("at least two labels") }
    }

    @Test func stratifiedFoldsHoldOutEveryTextOnce() {
        let data = (0..<50).map { LabeledText(text: "t\($0)", label: $0 < 20 ? "a" : "b") }
        let folds = ClassificationData.stratifiedFolds(data, count: 5, seed: 3)
        #expect(folds.count == 5)
        let held = folds.flatMap { $0.validation.map(\.text) }
        #expect(held.count == 50 && Set(held).count == 50)
        for f in folds {
            #expect(f.train.count + f.validation.count == 50)
            #expect(f.validation.filter { $0.label == "a" }.count == 4 && f.validation.filter { $0.label == "b" }.count == 6)
        }
        let (train, validation) = ClassificationData.split(data, validationFraction: 0.2, seed: 3)
        #expect(train.count == 40 && validation.count == 10 && validation.filter { $0.label == "a" }.count == 4)
        #expect(ClassificationData.split(data, validationFraction: 0.2, seed: 3).validation == validation)
    }
}

/// Metrics with scikit-learn's definitions, on a worked example (values from
/// `sklearn.metrics.classification_report`).
@Suite struct ClassificationMetricsTests {
    @Test func workedExample() {
        let m = ClassificationMetrics(labels: ["a", "b", "c"], truth: [0, 0, 1, 1, 2, 2, 2], predicted: [0, 1, 1, 1, 2, 0, 1])
        #expect(m.confusion == [[1, 1, 0], [0, 2, 0], [1, 1, 1]])
        #expect(abs(m.accuracy - 4.0 / 7) < 1e-12)
        #expect(m.precision.map { ($0 * 1e6).rounded() / 1e6 } == [0.5, 0.5, 1.0])
        #expect(m.recall.map { ($0 * 1e6).rounded() / 1e6 } == [0.5, 1.0, 0.333333])
        #expect(abs(m.f1[2] - 0.5) < 1e-12 && abs(m.f1[1] - 2.0 / 3) < 1e-12)
        #expect(abs(m.macroF1 - (0.5 + 2.0 / 3 + 0.5) / 3) < 1e-12)
        #expect(m.support == [2, 2, 3])
        // A label never predicted has precision 0 (sklearn's zero_division default), not NaN.
        let none = ClassificationMetrics(labels: ["a", "b"], truth: [0, 1], predicted: [0, 0])
        #expect(none.precision[1] == 0 && none.f1[1] == 0)
        #expect(m.report().contains("confusion (rows: true, columns: predicted)"))
    }
}

/// Fine-tuning learns, keeps a frozen encoder frozen, and saves what transformers reads.
@Suite struct FineTuningTests {
    /// A task the tiny random BERT can learn: is "great" or "good" in the text?
    static func synthetic(_ n: Int, seed: UInt64) -> [LabeledText] {
        var g = RandomGenerator(seed: seed)
        let filler = ["the", "movie", "was", "film", "plot", "acting", "music", "story", "very", "really", "it", "is", "so", "day"]
        return (0..<n).map { i in
            var words = (0..<5).map { _ in filler[Int(g.next() % UInt64(filler.count))] }
            let positive = i % 2 == 0
            words.insert(positive ? ["great", "good"][Int(g.next() % 2)] : ["dull", "bad"][Int(g.next() % 2)], at: Int(g.next() % 6))
            return LabeledText(text: words.joined(separator: " "), label: positive ? "pos" : "neg")
        }
    }

    func tinyClassifier(labels: [String] = ["neg", "pos"]) throws -> (SequenceClassificationModel, EncoderTokenizer) {
        let folder = fixturePath("encoders/tiny-bert-cls")
        let (model, _) = try SequenceClassificationModel.load(folder: folder, labels: labels, seed: 1)
        return (model, try EncoderTokenizer(folder: folder, config: model.config, maxLength: 32))
    }

    @Test func fullFineTuningLearnsAndKeepsTheBestEpoch() throws {
        let (model, tokenizer) = try tinyClassifier()
        var options = FineTuneOptions()
        options.epochs = 6; options.learningRate = 3e-3; options.batchSize = 8; options.patience = 0
        let result = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options)
            .run(train: Self.synthetic(96, seed: 1), validation: Self.synthetic(40, seed: 2))
        #expect(result.history.count == 6)
        let best = result.history.min { $0.validationLoss < $1.validationLoss }!
        #expect(result.bestEpoch == best.epoch)
        #expect(result.validation.accuracy >= 0.9, "\(result.history)")
        // The model holds the best epoch's weights: evaluating it again gives that epoch's loss.
        let (loss, metrics) = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options).evaluate(
            Self.synthetic(40, seed: 2))
        #expect(abs(loss - best.validationLoss) < 1e-5 && metrics.accuracy == best.validationAccuracy)
        #expect(throws: (any Error).self) {
            _ = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options).run(
                train: [LabeledText(text: "x", label: "maybe")], validation: Self.synthetic(4, seed: 3))
        }
    }

    @Test func frozenEncoderTrainsOnlyTheHead() throws {
        let (model, tokenizer) = try tinyClassifier()
        let before = model.encoder.namedParameters().filter { !$0.name.hasPrefix("pooler") }.map {
            ($0.name, $0.parameter.value.scalars(as: Float.self))
        }
        let classifierBefore = model.classifier.weight.value.scalars(as: Float.self)
        var options = FineTuneOptions()
        options.epochs = 3; options.freezeEncoder = true; options.batchSize = 8
        let result = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options)
            .run(train: Self.synthetic(48, seed: 4), validation: Self.synthetic(16, seed: 5))
        #expect(result.history.count >= 1)
        let after = Dictionary(
            uniqueKeysWithValues: model.encoder.namedParameters().map { ($0.name, $0.parameter.value.scalars(as: Float.self)) })
        for (name, values) in before { #expect(after[name] == values, "\(name) changed under a frozen encoder") }
        #expect(model.classifier.weight.value.scalars(as: Float.self) != classifierBefore)
        #expect(model.parameters.allSatisfy { $0.isTrainable })  // unfrozen again afterwards
    }

    @Test func crossValidationScoresEveryFold() throws {
        var options = FineTuneOptions()
        options.epochs = 2; options.freezeEncoder = true; options.batchSize = 8
        let r = try CrossValidation.run(folds: 3, data: Self.synthetic(30, seed: 6), options: options) { try tinyClassifier() }
        #expect(r.folds.count == 3 && r.folds.allSatisfy { $0.epochs == 2 })
        #expect(r.pooled.support.reduce(0, +) == 30)
        #expect(abs(r.meanAccuracy - r.folds.map(\.accuracy).reduce(0, +) / 3) < 1e-12)
    }

    /// A classifier fine-tuned and saved by LMKit loads in transformers
    /// (`Tools/check/encoder_classifier.py`, strict) with the same labels, ids and logits.
    @Test(arguments: ["tiny-bert-cls", "tiny-distilbert-cls"]) func savedClassifierLoadsInTransformers(fixture: String) throws {
        let check = "transformers check of a fine-tuned classifier"
        guard ReferencePython.executable(for: check) != nil else { return }
        let source = fixturePath("encoders/\(fixture)")
        let (model, _) = try SequenceClassificationModel.load(folder: source, labels: ["neg", "pos"], seed: 2)
        let tokenizer = try EncoderTokenizer(folder: source, config: model.config)
        var options = FineTuneOptions()
        options.epochs = 1; options.learningRate = 1e-3; options.batchSize = 8
        _ = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options).run(
            train: Self.synthetic(16, seed: 7), validation: Self.synthetic(8, seed: 8))
        let out = TemporaryFolder(prefix: "lmkit-cls-hf")
        try model.save(folder: out.path)
        try copyTokenizerFiles(from: source, to: out.path)
        let texts = ["the movie was great !", "a dull , boring film", "ok"]
        guard
            let run = try ReferencePython.run(
                [
                    fixturePath("../../Tools/check/encoder_classifier.py"), out.path,
                    String(decoding: try JSONSerialization.data(withJSONObject: texts), as: UTF8.self),
                ], for: check)
        else { return }
        #expect(run.status == 0, "\(run.stderr)")
        let data = run.stdout
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(root["labels"] as? [String] == ["neg", "pos"])
        #expect(root["architecture"] as? String == model.config.architecture("ForSequenceClassification"))
        let batch = try tokenizer.batch(texts)
        let ids = try #require(root["input_ids"] as? [[Int]])
        #expect(ids.flatMap { $0 } == batch.ids.indexValues)
        let logits = try #require(root["logits"] as? [[Double]])
        let expected = Tensor(shape: [3, 2], doubles: logits.flatMap { $0 })
        let c = compare(
            GradMode.withoutGradient { model(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask) }, expected, rtol: 1e-4,
            atol: 1e-5)
        #expect(c.withinTolerance, "\(c)")
    }
}

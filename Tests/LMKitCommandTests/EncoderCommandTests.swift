import Foundation
import Testing
import TestSupport

/// `lmkit embed sentence`, `classify`, `fill-mask`, `attention` and `finetune classifier`, as a user
/// runs them, on the tiny fixture folders (and the MiniLM asset when present).
extension CommandTests {
    func jsonArray(_ text: String) throws -> [Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any])
    }

    @Test func sentenceEmbeddingsAndSimilarity() throws {
        let r = try lmkit(
            "embed", "sentence", "--model", fixturePath("encoders/tiny-distilbert-cls"), "the movie was great !", "ok", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let out = try json(r.stdout)
        let embeddings = try #require(out["embeddings"] as? [[Double]])
        #expect(embeddings.count == 2 && embeddings.allSatisfy { $0.count == 32 } && out["dimension"] as? Int == 32)
        let similarity = try #require(out["similarity"] as? [[Double]])
        #expect(abs(similarity[0][0] - 1) < 1e-6 && abs(similarity[0][1] - similarity[1][0]) < 1e-12)

        guard TestAssets.available(.minilm) else { return }
        let m = try lmkit(
            "embed", "sentence", "A man is playing a guitar.", "Someone plays the guitar on stage.", "The stock market fell sharply today.",
            "--json")
        #expect(m.status == 0, "\(m.stderr)")
        let minilm = try json(m.stdout)
        let vectors = try #require(minilm["embeddings"] as? [[Double]])
        #expect(vectors.count == 3 && vectors[0].count == 384)
        for v in vectors { #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5) }  // normalized, as sentence-transformers does
        let s = try #require(minilm["similarity"] as? [[Double]])
        #expect(s[0][1] > 0.5 && s[0][2] < 0.2, "\(s)")  // the paraphrase is near, the unrelated sentence is not
        let text = try lmkit("embed", "sentence", "A man is playing a guitar.", "Someone plays the guitar on stage.")
        #expect(text.status == 0 && text.stdout.contains("cosine similarity") && text.stdout.contains("384 dimensions"))
    }

    /// --int8: the same labels as float32 on the tiny classifier, scores close; embeddings close to
    /// float32's under each scheme; a bad scheme is refused by name.
    @Test func int8ClassifyAndEmbed() throws {
        let texts = ["the movie was great !", "a dull film", "ok"]
        let classifier = fixturePath("encoders/tiny-bert-cls")
        let float = try jsonArray(try lmkit(arguments: ["classify", "--model", classifier] + texts + ["--json"]).stdout)
        let int8 = try lmkit(arguments: ["classify", "--model", classifier, "--int8"] + texts + ["--json"])
        #expect(int8.status == 0, "\(int8.stderr)")
        for (f, q) in zip(float.compactMap { $0 as? [String: Any] }, try jsonArray(int8.stdout).compactMap { $0 as? [String: Any] }) {
            #expect(f["label"] as? String == q["label"] as? String)
            #expect(abs((f["score"] as? Double ?? 0) - (q["score"] as? Double ?? 1)) < 0.02)
        }
        let encoder = fixturePath("encoders/tiny-distilbert-cls")
        let reference = try #require(
            try json(try lmkit(arguments: ["embed", "sentence", "--model", encoder] + texts + ["--json"]).stdout)["embeddings"]
                as? [[Double]])
        for scheme in ["token", "channel", "tensor"] {
            let r = try lmkit(arguments: ["embed", "sentence", "--model", encoder, "--int8", "--int8-scheme", scheme] + texts + ["--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let vectors = try #require(try json(r.stdout)["embeddings"] as? [[Double]])
            for (a, b) in zip(reference, vectors) {
                let dot = zip(a, b).map { $0 * $1 }.reduce(0, +)
                let cosine = dot / (a.map { $0 * $0 }.reduce(0, +) * b.map { $0 * $0 }.reduce(0, +)).squareRoot()
                #expect(cosine > 0.97 && cosine < 1 - 1e-9, "\(scheme): cosine \(cosine)")
            }
        }
        let bad = try lmkit(arguments: ["embed", "sentence", "--model", encoder, "--int8", "--int8-scheme", "row", "x"])
        #expect(bad.status != 0 && bad.stderr.contains("int8-scheme"))
    }

    @Test func classifyFillMaskAndAttention() throws {
        let cls = try lmkit("classify", "--model", fixturePath("encoders/tiny-bert-cls"), "the movie was great !", "a dull film", "--json")
        #expect(cls.status == 0, "\(cls.stderr)")
        let predictions = try jsonArray(cls.stdout).compactMap { $0 as? [String: Any] }
        #expect(predictions.count == 2)
        for p in predictions {
            #expect(["negative", "neutral", "positive"].contains(p["label"] as? String ?? ""))
            #expect((p["score"] as? Double ?? 0) > 1.0 / 3)
        }
        let fill = try lmkit(
            "fill-mask", "--model", fixturePath("encoders/tiny-bert-mlm"), "the movie was [MASK] !", "--top-k", "2", "--json")
        #expect(fill.status == 0, "\(fill.stderr)")
        let masks = try jsonArray(fill.stdout)
        let first = try #require(masks.first as? [[String: Any]])
        #expect(masks.count == 1 && first.count == 2 && (first[0]["score"] as? Double ?? 0) >= (first[1]["score"] as? Double ?? 1))
        #expect((first[0]["sequence"] as? String)?.hasPrefix("the movie was ") == true)
        let noMask = try lmkit("fill-mask", "--model", fixturePath("encoders/tiny-bert-mlm"), "no mask")
        #expect(noMask.status != 0 && noMask.stderr.contains("no [MASK]"))
        let wrongHead = try lmkit("fill-mask", "--model", fixturePath("encoders/tiny-bert-cls"), "a [MASK]")
        #expect(wrongHead.status != 0 && wrongHead.stderr.contains("no masked-LM head"))

        let folder = TemporaryFolder(prefix: "lmkit-cli-attention")
        let svg = folder.path + "/map.svg"
        let att = try lmkit(
            "attention", "--model", fixturePath("encoders/tiny-bert-cls"), "--layer", "1", "--head", "2", "--out", svg,
            "the movie was great !", "--json")
        #expect(att.status == 0, "\(att.stderr)")
        let map = try json(att.stdout)
        #expect(map["tokens"] as? [String] == ["[CLS]", "the", "movie", "was", "great", "!", "[SEP]"])
        #expect((map["weights"] as? [[Double]])?.count == 7 && map["head"] as? Int == 2)
        #expect(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<svg"))
        let badHead = try lmkit("attention", "--model", fixturePath("encoders/tiny-bert-cls"), "--head", "9", "x")
        #expect(badHead.status != 0 && badHead.stderr.contains("head 9 is outside 0…3"))
        let notFolder = try lmkit("classify", "--model", folder.path + "/nothing", "x")
        #expect(notFolder.status != 0 && notFolder.stderr.contains("not a folder"))
    }

    @Test func finetuneThenClassifyAndCrossValidate() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-finetune")
        var rows = ["text,label"]
        for i in 0..<40 {
            let good = i % 2 == 0
            rows.append("\"the \(good ? "great" : "dull") movie, \(["really", "so", "very", "it is"][i % 4])\",\(good ? "pos" : "neg")")
        }
        let data = folder.path + "/reviews.csv"
        _ = FileManager.default.createFile(atPath: data, contents: Data(rows.joined(separator: "\n").utf8))
        let out = folder.path + "/model"
        let run = try lmkit(
            "finetune", "classifier", "--model", fixturePath("encoders/tiny-bert-cls"), data, "--epochs", "3",
            "--learning-rate", "3e-3", "--batch-size", "8", "--out", out, "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try json(run.stdout)
        #expect(summary["labels"] as? [String] == ["neg", "pos"])
        #expect(summary["train"] as? Int == 32 && summary["validation"] as? Int == 8)
        #expect((summary["history"] as? [Any])?.isEmpty == false)
        #expect(
            FileManager.default.fileExists(atPath: out + "/model.safetensors")
                && FileManager.default.fileExists(atPath: out + "/tokenizer.json"))
        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any])
        #expect(config["architectures"] as? [String] == ["BertForSequenceClassification"])
        #expect(config["id2label"] as? [String: String] == ["0": "neg", "1": "pos"])
        let classified = try lmkit("classify", "--model", out, "the great movie", "--json")
        #expect(classified.status == 0, "\(classified.stderr)")
        #expect(["neg", "pos"].contains((try jsonArray(classified.stdout).first as? [String: Any])?["label"] as? String ?? ""))

        let cv = try lmkit(
            "finetune", "classifier", "--model", fixturePath("encoders/tiny-bert-cls"), data, "--epochs", "2", "--freeze-encoder",
            "--folds", "2", "--json")
        #expect(cv.status == 0, "\(cv.stderr)")
        let folds = try json(cv.stdout)
        #expect((folds["folds"] as? [Any])?.count == 2 && folds["meanAccuracy"] is Double)

        let noOut = try lmkit("finetune", "classifier", "--model", fixturePath("encoders/tiny-bert-cls"), data)
        #expect(noOut.status != 0 && noOut.stderr.contains("--out"))
        let wrongColumn = try lmkit(
            "finetune", "classifier", "--model", fixturePath("encoders/tiny-bert-cls"), data, "--text-column", "review", "--out", out)
        #expect(wrongColumn.status != 0 && wrongColumn.stderr.contains("(it has: text, label)"))
        let intoSource = try lmkit("finetune", "classifier", "--model", out, data, "--out", out)
        #expect(intoSource.status != 0 && intoSource.stderr.contains("is the model folder itself"))
    }
}

extension CommandTests {
    @Test func encodersChapterMeasuresSimilarityAttentionAndFineTuning() throws {
        guard TestAssets.available(.minilm), TestAssets.available(.gensimData) else { return }
        let r = try lmkit("tour", "--chapter", "encoders", "--quick", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        #expect(try #require(results["similarity_paraphrase_guitar"]) > 0.5)
        #expect(try #require(results["similarity_unrelated_guitar_market"]) < 0.2)
        #expect(try #require(results["attention_it_to_animal"]) > 0.3)
        for key in ["frozen_validation_accuracy", "finetuned_validation_accuracy"] {
            let accuracy = try #require(results[key])
            #expect(accuracy >= 0.5 && accuracy <= 1, "\(key) \(accuracy)")
        }
    }
}

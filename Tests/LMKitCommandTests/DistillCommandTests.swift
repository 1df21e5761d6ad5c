import Foundation
import Testing
import TestSupport

/// `lmkit distill` (a GPT on a text, and a classifier on labelled texts) as a user runs it.
extension CommandTests {
    @Test func distillAGPTIntoFewerLayers() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-distill")
        let corpus = folder.path + "/corpus.txt"
        let line = "to be, or not to be, that is the question: whether 'tis nobler in the mind to suffer\n"
        _ = FileManager.default.createFile(atPath: corpus, contents: Data(String(repeating: line, count: 200).utf8))
        let teacher = try lmkit(arguments: [
            "train", "gpt", corpus, "--out", folder.path + "/teacher", "--layers", "3", "--width", "32", "--heads", "2", "--context", "32",
            "--batch-size", "8", "--warmup-steps", "2", "--max-steps", "20", "--eval-interval", "20", "--eval-batches", "2", "--json",
        ])
        #expect(teacher.status == 0, "\(teacher.stderr)")
        let common = [
            "--teacher", folder.path + "/teacher/model", "--layers", "1", "--batch-size", "8", "--warmup-steps", "2", "--max-steps", "10",
            "--eval-interval", "10", "--eval-batches", "2", "--json",
        ]
        // `lmkit distill` is `lmkit distill lm`: width, heads and context follow the teacher's.
        let run = try lmkit(
            arguments: ["distill", corpus, "--out", folder.path + "/student", "--temperature", "3", "--hidden-weight", "1"] + common)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try json(run.stdout)["steps"] as? Int == 10)
        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/student/model/config.json")))
                as? [String: Any])
        #expect(config["n_layer"] as? Int == 1 && config["n_embd"] as? Int == 32 && config["n_positions"] as? Int == 32)
        let generated = try lmkit(arguments: [
            "generate", "--model", folder.path + "/student/model", "to be", "--max-tokens", "5", "--json",
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        // From scratch with another width; a student wider than the teacher cannot start from it.
        let scratch = try lmkit(
            arguments: ["distill", "lm", corpus, "--out", folder.path + "/scratch", "--init", "scratch", "--width", "16"] + common)
        #expect(scratch.status == 0, "\(scratch.stderr)")
        let wide = try lmkit(arguments: ["distill", corpus, "--out", folder.path + "/wide", "--width", "64"] + common)
        #expect(wide.status != 0 && wide.stderr.contains("width (32)"))
        let badAlpha = try lmkit(arguments: ["distill", corpus, "--out", folder.path + "/alpha", "--alpha", "2"] + common)
        #expect(badAlpha.status != 0 && badAlpha.stderr.contains("alpha"))
    }

    @Test func distillAClassifierIntoFewerLayers() throws {
        let folder = TemporaryFolder(prefix: "lmkit-cli-distill-classifier")
        var rows = ["text,label"]
        for i in 0..<30 {
            let label = ["positive", "negative", "neutral"][i % 3]
            rows.append("the movie was \(["great", "dull", "ok"][i % 3]) \(["really", "so", "it is"][i % 3 == 0 ? 0 : 1]),\(label)")
        }
        let data = folder.path + "/reviews.csv"
        _ = FileManager.default.createFile(atPath: data, contents: Data(rows.joined(separator: "\n").utf8))
        let out = folder.path + "/student"
        let run = try lmkit(
            "distill", "classifier", "--teacher", fixturePath("encoders/tiny-bert-cls"), data, "--layers", "1", "--epochs", "2",
            "--hidden-weight", "0.5", "--out", out, "--json")
        #expect(run.status == 0, "\(run.stderr)")
        #expect((try json(run.stdout)["history"] as? [Any])?.count == 2)
        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any])
        #expect(config["num_hidden_layers"] as? Int == 1 && config["architectures"] as? [String] == ["BertForSequenceClassification"])
        let classified = try lmkit("classify", "--model", out, "the movie was great", "--json")
        #expect(classified.status == 0, "\(classified.stderr)")
        // --alpha 0: the same student on the labels alone.
        let baseline = try lmkit(
            "distill", "classifier", "--teacher", fixturePath("encoders/tiny-bert-cls"), data, "--alpha", "0", "--epochs", "1",
            "--out", folder.path + "/baseline", "--json")
        #expect(baseline.status == 0, "\(baseline.stderr)")
        let tooDeep = try lmkit(
            "distill", "classifier", "--teacher", fixturePath("encoders/tiny-bert-cls"), data, "--layers", "3", "--out",
            folder.path + "/deep")
        #expect(tooDeep.status != 0 && tooDeep.stderr.contains("1 to 2 layers"))
        let notClassifier = try lmkit(
            "distill", "classifier", "--teacher", fixturePath("encoders/tiny-bert-mlm"), data, "--out", folder.path + "/mlm")
        #expect(notClassifier.status != 0)
    }
}

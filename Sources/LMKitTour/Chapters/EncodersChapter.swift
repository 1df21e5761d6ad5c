import Foundation
import LMKitAssets
import LMKitEncoders
import LMKitModels
import LMKitTensor

/// Pre-trained encoders and transfer learning (study path: BERT, fine-tuning, sentiment analysis).
struct EncodersChapter: TourChapter {
    let name = "encoders"
    let title = "Pre-trained encoders: sentence similarity, attention, fine-tuning a sentiment classifier"

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        let folder = (try c.assets.path(.minilm) as NSString).deletingLastPathComponent
        c.say(
            """
            BERT reads a whole sentence at once: every token attends to every other, left and right, through
            post-norm transformer layers. all-MiniLM-L6-v2 is a small BERT (6 layers, width 384, 12 heads,
            22.7M parameters) trained so that the mean of its token vectors is a sentence embedding.

            1. Sentence similarity. Cosine similarity of the embeddings of six sentences:
            """)
        let encoder = try SentenceEncoder(folder: folder)
        let sentences = [
            "A man is playing a guitar.", "Someone plays the guitar on stage.",
            "The stock market fell sharply today.", "Shares dropped steeply on Wall Street.",
            "How do I reset my password?", "Cats sleep a lot.",
        ]
        let vectors = try encoder.encode(sentences)
        let s = SentenceEncoder.similarityMatrix(vectors)
        for (i, text) in sentences.enumerated() {
            let row = s[i].map { Format.fixed($0, 2).padding(toLength: 6, withPad: " ", startingAt: 0) }.joined()
            c.say("  [\(i)] \(row) \(text)")
        }
        results["similarity_paraphrase_guitar"] = s[0][1]
        results["similarity_paraphrase_market"] = s[2][3]
        results["similarity_unrelated_guitar_market"] = s[0][2]
        c.say(
            """
              Paraphrases score \(Format.fixed(s[0][1], 2)) and \(Format.fixed(s[2][3], 2)) although they share few words; unrelated
              sentences stay near 0. (The same numbers as sentence-transformers: the tests compare them.)

            2. Attention. Where does "it" look in "The animal didn't cross the street because it was too
            tired."? Every layer and head of MiniLM, searched for the head that sends "it" most to "animal":
            """)
        let text = "The animal didn't cross the street because it was too tired."
        var best = (layer: 0, head: 0, weight: -1.0)
        var map: AttentionMap?
        for layer in 0..<encoder.encoder.config.layers {
            for head in 0..<encoder.encoder.config.heads where !c.quick || layer == 3 {
                let m = try AttentionMap.compute(
                    encoder: encoder.encoder, tokenizer: encoder.tokenizer, text: text, layer: layer, head: head)
                guard let it = m.tokens.firstIndex(of: "it"), let animal = m.tokens.firstIndex(of: "animal") else { continue }
                if m.weights[it][animal] > best.weight { best = (layer, head, m.weights[it][animal]); map = m }
            }
        }
        if let map {
            let it = map.tokens.firstIndex(of: "it")!
            let top = map.weights[it].indices.sorted { map.weights[it][$0] > map.weights[it][$1] }.prefix(4)
                .map { "\(map.tokens[$0]) \(Format.fixed(map.weights[it][$0], 2))" }
            c.say("  layer \(best.layer), head \(best.head): \"it\" → \(top.joined(separator: ", "))")
            try FileManager.default.createDirectory(atPath: c.assets.root + "/tour", withIntermediateDirectories: true)
            let path = c.assets.root + "/tour/attention-it.svg"
            try AtomicFile.write(Array(map.svg(title: "MiniLM layer \(best.layer), head \(best.head)").utf8), to: path)
            c.say("  heat map of that head (rows attend to columns): \(path)")
            c.say("  `lmkit attention --layer L --head H \"your sentence\" --out map.svg` draws any other.")
            results["attention_it_to_animal"] = best.weight
        }

        c.say(
            """

            3. Transfer learning. A classification head on the pre-trained encoder, trained on the only
            labelled sentiment data offline: 200 movie-review sentences (Pang & Lee). Two recipes: train only
            the head on the frozen encoder's [CLS] vectors, or fine-tune every weight (AdamW, warm-up then
            linear decay).
            """)
        let sentencesFile = try c.assets.path(.gensimData, "pang_lee_polarity.cor")
        let data = try ClassificationData.load(sentencesFile, encoding: .cp1252)
        // --quick: a stratified quarter of the sentences (a smoke run, not a measurement).
        let pool = c.quick ? ClassificationData.split(data.train, validationFraction: 0.25, seed: c.seed).validation : data.train
        let (train, validation) = ClassificationData.split(pool, validationFraction: 0.2, seed: c.seed)
        func fineTune(frozen: Bool) throws -> (TextClassifier, FineTuneResult) {
            let (model, _) = try SequenceClassificationModel.load(folder: folder, labels: ["neg", "pos"], seed: c.seed)
            let tokenizer = try EncoderTokenizer(folder: folder, config: model.config, maxLength: 128)
            var o = FineTuneOptions()
            o.freezeEncoder = frozen
            o.epochs = frozen ? 20 : (c.quick ? 1 : 4)
            o.learningRate = frozen ? 1e-3 : 1e-4
            o.patience = frozen ? 5 : 2
            o.seed = c.seed
            let r = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: o).run(train: train, validation: validation) { e in
                if !frozen {
                    c.say(
                        "    epoch \(e.epoch): train loss \(Format.fixed(e.trainLoss, 3)), validation loss \(Format.fixed(e.validationLoss, 3)), accuracy \(Format.fixed(e.validationAccuracy, 3)) (\(Format.fixed(e.seconds, 1)) s)"
                    )
                }
            }
            return (TextClassifier(model: model, tokenizer: tokenizer), r)
        }
        c.say("  \(train.count) sentences to train, \(validation.count) held out (both half positive, half negative)")
        let (_, frozen) = try fineTune(frozen: true)
        c.say(
            "  frozen encoder: validation accuracy \(Format.fixed(frozen.validation.accuracy, 3)) (\(Format.fixed(frozen.seconds, 1)) s, best of \(frozen.history.count) epochs)"
        )
        c.say("  full fine-tuning:")
        let (classifier, full) = try fineTune(frozen: false)
        c.say(
            "  full fine-tuning: validation accuracy \(Format.fixed(full.validation.accuracy, 3)) (\(Format.fixed(full.seconds, 1)) s, epoch \(full.bestEpoch) kept)"
        )
        results["frozen_validation_accuracy"] = frozen.validation.accuracy
        results["finetuned_validation_accuracy"] = full.validation.accuracy
        c.say(
            """
              MiniLM was trained so that the mean of its token vectors summarizes a sentence, not its [CLS]
              vector, so a head on the frozen [CLS] has little to work with; fine-tuning lets the encoder adapt.
              With \(validation.count) held-out sentences each one is \(Format.fixed(100.0 / Double(validation.count), 1)) points: benchmarks/RESULTS.md has the cross-validated
              comparison of the two recipes.

              The fine-tuned classifier on new sentences:
            """)
        let reviews = [
            "A warm, funny and moving film.", "Two hours of my life I will never get back.",
            "The acting is superb and the story stays with you.",
        ]
        for (r, p) in zip(reviews, try classifier.classify(reviews)) {
            c.say("    \(p.label) \(Format.fixed(p.score, 3))  \(r)")
        }
        c.say(
            """
              `lmkit finetune classifier DATA --out DIR` trains one on your CSV, JSONL or aclImdb folder;
              `lmkit classify --model DIR "text"` uses it (and transformers loads DIR too).
            """)
        return results
    }
}

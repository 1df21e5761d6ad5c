import Foundation
import LMKitAssets
import LMKitGeneration
import LMKitModels
import LMKitTokenizers
import LMKitTraining

/// Pretraining a small GPT on Shakespeare, character by character (study path days 6–7).
struct GPTChapter: TourChapter {
    let name = "gpt"
    let title = "A GPT from scratch: pretraining on Shakespeare and generating text"

    func run(_ c: TourContext) throws -> [String: Double] {
        c.say(
            """
            A GPT reads a sequence of tokens and predicts, at every position, the next one. Each token gets
            an embedding plus a position embedding; a stack of transformer blocks lets every position
            attend to the positions before it (causal self-attention) and transforms each position with an
            MLP; a final layer turns each position into scores for the next token. Training minimizes the
            cross-entropy of those predictions on real text: here, Shakespeare, one character per token.
            """)
        guard c.assets.isPresent(.shakespeare) else {
            c.say("  (skipped: run `scripts/fetch-assets --only shakespeare`)")
            return [:]
        }
        var config = TrainingConfig()
        if c.quick {
            config.layers = 2; config.width = 64; config.heads = 4; config.context = 48; config.batchSize = 8
            config.maxSteps = 90; config.warmupSteps = 10; config.evalInterval = 30; config.evalBatches = 2
        } else {
            config.layers = 4; config.width = 192; config.heads = 4; config.context = 128; config.batchSize = 32
            config.maxSteps = 600; config.warmupSteps = 50; config.evalInterval = 100; config.evalBatches = 8
            config.maxMinutes = 4
        }
        config.dropout = 0
        config.learningRate = 2e-3
        config.minLearningRate = 2e-4
        config.seed = c.seed
        let output = c.assets.root + "/tour/gpt"
        try? FileManager.default.removeItem(atPath: output)
        let trainer = try LanguageModelTrainer(config: config, corpus: try c.assets.path(.shakespeare, "shakespeare.txt"), output: output)
        let vocabulary = trainer.tokenizer.vocabSize
        c.say(
            """

            The model: \(config.layers) blocks, width \(config.width), \(config.heads) attention heads, \(config.context) characters of \
            context, \(trainer.model.parameterCount) parameters; \(vocabulary) distinct characters. Before training
            every character is about equally likely, a loss of ln(\(vocabulary)) = \(Format.fixed(log(Double(vocabulary)), 2)) nats.
            Training: AdamW, batches of \(config.batchSize) random \(config.context)-character windows, at most \(config.maxSteps) steps\
            \(config.maxMinutes > 0 ? " or \(Int(config.maxMinutes)) minutes" : ""). Every \(config.evalInterval) steps: the loss on
            text the model never trains on (the last 10% of the works), and what it writes now.

            """)
        var results: [String: Double] = [:]
        var firstValidation: Double? = nil
        let summary = try trainer.run { p in
            guard let r = p.evaluation else { return }
            if firstValidation == nil { firstValidation = r.validationLoss }
            c.say(
                "  step \(r.step): train loss \(Format.fixed(r.trainLoss, 3)), validation \(Format.fixed(r.validationLoss, 3)), \(Int(r.tokensPerSecond)) characters/s"
            )
            trainer.model.eval()
            let sample =
                (try? Generator(model: trainer.model, tokenizer: trainer.tokenizer)
                    .generate("ROMEO:\n", maxTokens: 80, sampling: .init(temperature: 0.8, topK: 20, seed: c.seed)).text) ?? ""
            trainer.model.train()
            c.say("    “ROMEO:\\n\(sample.replacingOccurrences(of: "\n", with: "\\n"))”")
        }
        results["validation_loss_first_eval"] = firstValidation ?? .nan
        results["validation_loss_best"] = summary.bestValidationLoss
        results["steps"] = Double(summary.steps)
        results["seconds"] = summary.seconds
        results["parameters"] = Double(summary.parameters)

        let model = try GPT2LMHeadModel(folder: output + "/model")
        model.eval()
        let tokenizer = try Tokenizer(contentsOf: output + "/model")
        let text = try Generator(model: model, tokenizer: tokenizer)
            .generate("JULIET:\n", maxTokens: c.quick ? 120 : 300, sampling: .init(temperature: 0.8, topK: 20, seed: c.seed))
        c.say(
            """

            Best validation loss \(Format.fixed(summary.bestValidationLoss, 3)) nats/character after \(summary.steps) steps \
            (\(Int(summary.seconds)) s). The best model writes, at temperature 0.8:

            JULIET:
            \(text.text)

            The loss curve is \(output)/loss.svg; the model folder \(output)/model loads with
            `lmkit generate --model \(output)/model "ROMEO:"` and in Hugging Face transformers. Longer training
            (`lmkit train gpt`, 15 minutes) brings the validation loss to about 1.6: words, line breaks and
            speaker names in place, sense still missing.
            """)
        return results
    }
}

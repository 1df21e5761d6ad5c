import Foundation
import LMKitGeneration
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers
import LMKitTraining
import Testing
import TestSupport

/// The GPT training loop, generation and perplexity on a small corpus: loss falls, checkpoints
/// resume exactly, the saved model generates, the KV cache changes nothing but speed.
@Suite(.serialized) struct TrainingTests {
    let folder = TemporaryFolder(prefix: "lmkit-train")

    /// About 60 KB of varied text from the tokenizer goldens' corpus.
    func corpus() throws -> String {
        let data = try #require(FileManager.default.contents(atPath: fixturePath("tokenizers/texts.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let texts = (root["texts"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        let path = folder.path + "/corpus.txt"
        try Data(texts.prefix(60).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func tinyConfig() -> TrainingConfig {
        var c = TrainingConfig()
        c.layers = 2; c.width = 32; c.heads = 4; c.context = 32; c.batchSize = 8
        c.maxSteps = 40; c.warmupSteps = 5; c.evalInterval = 10; c.evalBatches = 4; c.learningRate = 3e-3; c.minLearningRate = 3e-4
        c.dropout = 0.1
        return c
    }

    @Test func lossFallsAndTheModelFolderGenerates() throws {
        let corpus = try corpus()
        let out = folder.path + "/run"
        let trainer = try LanguageModelTrainer(config: tinyConfig(), corpus: corpus, output: out)
        let summary = try trainer.run()
        #expect(summary.steps == 40)
        #expect(summary.history.count == 4)
        let first = try #require(summary.history.first), last = try #require(summary.history.last)
        #expect(last.trainLoss < first.trainLoss, "train loss \(first.trainLoss) → \(last.trainLoss)")
        #expect(summary.bestValidationLoss < log(Double(trainer.tokenizer.vocabSize)))
        for file in [
            "model/config.json", "model/model.safetensors", "model/tokenizer.json", "checkpoint/trainer_state.json",
            "checkpoint/optimizer.safetensors", "log.csv", "loss.svg", "data/train.bin", "data/meta.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
        let csv = try String(contentsOfFile: out + "/log.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 5)

        // The saved folder loads and generates; greedy decoding is the same with and without the cache.
        let model = try GPT2LMHeadModel(folder: out + "/model")
        model.eval()
        let tokenizer = try Tokenizer(contentsOf: out + "/model")
        let generator = Generator(model: model, tokenizer: tokenizer)
        var streamed = ""
        let cached = try generator.generate("The ", maxTokens: 40, sampling: .init(temperature: 0)) { streamed += $0 }
        let uncached = try generator.generate("The ", maxTokens: 40, sampling: .init(temperature: 0), useCache: false)
        #expect(cached.text == uncached.text)
        #expect(streamed == cached.text)
        #expect(cached.generatedTokens == 40)
        // Beyond the 32-position context the cache restarts from the last half context.
        let long = try generator.generate("The ", maxTokens: 70, sampling: .init(temperature: 0.8, topK: 10, seed: 3))
        #expect(long.generatedTokens == 70)
        let seededA = try generator.generate("A", maxTokens: 20, sampling: .init(temperature: 1, topP: 0.9, seed: 9))
        let seededB = try generator.generate("A", maxTokens: 20, sampling: .init(temperature: 1, topP: 0.9, seed: 9))
        #expect(seededA.text == seededB.text)
        let stopped = try generator.generate(
            "The ", maxTokens: 40, sampling: .init(temperature: 0), stopSequences: [String(cached.text.dropFirst(3).prefix(2))])
        #expect(stopped.finishReason == "stop sequence" && stopped.text.count < cached.text.count)

        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        let ppl = try Perplexity.evaluate(model: model, tokenizer: tokenizer, text: String(text.prefix(2000)))
        #expect(ppl.tokens == (try tokenizer.encodeIDs(String(text.prefix(2000)), specialTokens: .text)).count - 1)
        #expect(ppl.perplexity > 1 && ppl.perplexity < Double(tokenizer.vocabSize))
        // llama.cpp's chunks (of the model's whole context, n): whole chunks only, the second half of
        // each scored (n/2 − 1 targets per chunk).
        let ids = try tokenizer.encodeIDs(String(text.prefix(2000)), specialTokens: .text)
        let n = model.contextLength
        let chunked = try Perplexity.evaluate(
            model: model, tokenizer: tokenizer, text: String(text.prefix(2000)), context: n, method: .llamaCpp)
        #expect(chunked.tokens == ids.count / n * (n / 2 - 1))
        var sum = 0.0  // no BOS in this tokenizer: each chunk as it is
        for c in 0..<(ids.count / n) {
            let targets = (0..<n).map { $0 >= n / 2 && $0 < n - 1 ? ids[c * n + $0 + 1] : -100 }
            sum += model.summedNLL(Array(ids[(c * n)..<((c + 1) * n)]), targets: targets).sum
        }
        #expect(abs(chunked.nllPerToken - sum / Double(chunked.tokens)) < 1e-9)
        #expect(chunked.perplexity > 1 && chunked.perplexity.isFinite)

        // KL divergence from a base model: none from itself; from the untrained model, the mean of
        // KL(base ‖ model) over the scored positions, checked against the whole logits.
        let sample = String(text.prefix(2000))
        let itself = try #require(
            try Perplexity.evaluate(model: model, tokenizer: tokenizer, text: sample, context: n, method: .llamaCpp, base: model).divergence
        )
        #expect(itself.meanKLD < 1e-9 && itself.maxKLD < 1e-9 && itself.sameTop == 1 && itself.meanDeltaP == 0)
        #expect(abs(itself.basePerplexity - chunked.perplexity) < 1e-6 * chunked.perplexity)
        let untrained = try GPT2LMHeadModel(model.config, seed: 99)
        untrained.eval()
        let versus = try Perplexity.evaluate(
            model: untrained, tokenizer: tokenizer, text: sample, context: n, method: .llamaCpp, base: model)
        let d = try #require(versus.divergence)
        var expected = 0.0, positions = 0
        for c in 0..<(ids.count / n) {
            let input = Tensor(indices: Array(ids[(c * n)..<((c + 1) * n)]), shape: [1, n])
            let p = GradMode.withoutGradient { model(input).reshaped([n, -1]).logSoftmax() }.scalars(as: Float.self)
            let q = GradMode.withoutGradient { untrained(input).reshaped([n, -1]).logSoftmax() }.scalars(as: Float.self)
            let v = p.count / n
            for j in (n / 2)..<(n - 1) {
                expected += (0..<v).map { exp(Double(p[j * v + $0])) * Double(p[j * v + $0] - q[j * v + $0]) }.reduce(0, +)
                positions += 1
            }
        }
        #expect(
            positions == versus.tokens && abs(d.meanKLD - expected / Double(positions)) < 1e-6 * d.meanKLD,
            "\(d.meanKLD) vs \(expected / Double(positions))")
        #expect(d.meanKLD > 0.01 && d.sameTop < 1 && abs(d.basePerplexity - chunked.perplexity) < 1e-6 * chunked.perplexity)
        #expect(d.p99KLD >= d.medianKLD && d.maxKLD >= d.p99KLD)
    }

    @Test func resumeContinuesExactly() throws {
        let corpus = try corpus()
        var config = tinyConfig()
        config.maxSteps = 20
        let straight = try LanguageModelTrainer(config: config, corpus: corpus, output: folder.path + "/straight")
        _ = try straight.run()
        let interrupted = try LanguageModelTrainer(config: config, corpus: corpus, output: folder.path + "/resumed")
        _ = try interrupted.run(stopAfter: 10)
        let resumed = try LanguageModelTrainer(config: config, corpus: corpus, output: folder.path + "/resumed", resume: true)
        #expect(resumed.step == 10)
        _ = try resumed.run()
        let a = straight.model.stateDict(), b = resumed.model.stateDict()
        for (name, t) in a {
            let c = compare(try #require(b[name]), t, rtol: 0, atol: 0)
            #expect(c.withinTolerance, "\(name): \(c)")
        }
    }

    @Test func samplerOptions() throws {
        let logits: [Float] = [0.1, 2.0, -1.0, 1.9]
        var greedy = Sampler(.init(temperature: 0))
        #expect(greedy.next(logits: logits, history: []) == 1)
        var topOne = Sampler(.init(temperature: 1, topK: 1, seed: 4))
        for _ in 0..<20 { #expect(topOne.next(logits: logits, history: []) == 1) }
        var nucleus = Sampler(.init(temperature: 1, topP: 0.01, seed: 4))
        #expect(nucleus.next(logits: logits, history: []) == 1)
        var penalized = Sampler(.init(temperature: 0, repetitionPenalty: 2))
        #expect(penalized.next(logits: logits, history: [1]) == 3)
        var counts = [0, 0, 0, 0]
        var s = Sampler(.init(temperature: 1, seed: 1))
        for _ in 0..<4000 { counts[s.next(logits: logits, history: [])] += 1 }
        let p1 = exp(2.0) / ([0.1, 2.0, -1.0, 1.9].map { exp($0) }.reduce(0, +))
        #expect(abs(Double(counts[1]) / 4000 - p1) < 0.03, "\(counts)")
        #expect(throws: GenerationError.self) { try SamplingOptions(temperature: -1).validate() }
        #expect(throws: GenerationError.self) { try SamplingOptions(topP: 0).validate() }
    }
}

extension TrainingTests {
    /// A corpus whose held-out end is unlike the rest: as the model learns the training text, the
    /// validation loss turns up, and training stops after `patience` evaluations without a new best.
    @Test func earlyStoppingWhenValidationStopsImproving() throws {
        var lines: [String] = []
        for i in 0..<180 { lines.append(String(repeating: "abcab", count: 8) + " \(i % 3)") }
        for _ in 0..<20 { lines.append(String(repeating: "zyxqw", count: 8)) }
        let path = folder.path + "/skewed.txt"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        var config = tinyConfig()
        config.maxSteps = 400; config.evalInterval = 10; config.patience = 2; config.dropout = 0; config.learningRate = 1e-2
        let trainer = try LanguageModelTrainer(config: config, corpus: path, output: folder.path + "/early")
        let summary = try trainer.run()
        #expect(summary.stoppedEarly && summary.steps < 400, "\(summary.reason) at \(summary.steps)")
        #expect(summary.reason.contains("did not improve"))
        // The saved model is the best one, not the last.
        let best = try #require(summary.history.min { $0.validationLoss < $1.validationLoss })
        #expect(best.validationLoss == summary.bestValidationLoss)
    }

    @Test func configFileAndGPT2Tokenizer() throws {
        guard TestAssets.available(.gpt2) else { return }
        let json =
            #"{"layers": 1, "width": 16, "heads": 2, "context": 16, "batch_size": 4, "max_steps": 6, "warmup_steps": 1, "eval_interval": 3, "eval_batches": 1, "tokenizer": "gpt2"}"#
        let config = try JSONDecoder().decode(TrainingConfig.self, from: Data(json.utf8))
        #expect(config.layers == 1 && config.tokenizer == "gpt2" && config.learningRate == TrainingConfig().learningRate)
        let trainer = try LanguageModelTrainer(config: config, corpus: try corpus(), output: folder.path + "/bpe")
        #expect(trainer.tokenizer.vocabSize == 50257)
        _ = try trainer.run()
        for file in ["vocab.json", "merges.txt", "config.json", "model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: folder.path + "/bpe/model/" + file), "\(file)")
        }
        let model = try GPT2LMHeadModel(folder: folder.path + "/bpe/model")
        #expect(model.config.vocabSize == 50257)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"layers": "two"}"#.utf8)) }
    }
}

extension TrainingTests {
    /// RNN, LSTM and GRU language models through the same trainer: the loss falls, the saved folder
    /// loads back, and generation carrying the state equals re-running the whole sequence.
    @Test(arguments: RecurrentCell.allCases)
    func recurrentModelsTrainSaveAndGenerate(cell: RecurrentCell) throws {
        var config = tinyConfig()
        config.architecture = cell.rawValue
        config.maxSteps = 30
        config.forgetBias = cell == .lstm ? 1 : nil
        let out = folder.path + "/\(cell.rawValue)"
        let trainer = try LanguageModelTrainer(config: config, corpus: try corpus(), output: out)
        let summary = try trainer.run()
        let first = try #require(summary.history.first), last = try #require(summary.history.last)
        #expect(last.trainLoss < first.trainLoss, "\(cell): \(first.trainLoss) → \(last.trainLoss)")
        let model = try RecurrentLanguageModel(folder: out + "/model")
        model.eval()
        #expect(model.config.cell == cell)
        let tokenizer = try Tokenizer(contentsOf: out + "/model")
        let generator = Generator(model: model, tokenizer: tokenizer)
        let cached = try generator.generate("The ", maxTokens: 25, sampling: .init(temperature: 0))
        let uncached = try generator.generate("The ", maxTokens: 25, sampling: .init(temperature: 0), useCache: false)
        #expect(cached.text == uncached.text)
        let ppl = try Perplexity.evaluate(
            model: model, tokenizer: tokenizer,
            text: "The quick brown fox jumps over the lazy dog. " + String(repeating: "To be or not to be. ", count: 10))
        #expect(ppl.perplexity.isFinite && ppl.perplexity > 1)
    }
}

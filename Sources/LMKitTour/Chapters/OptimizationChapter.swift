import Foundation
import LMKitAssets
import LMKitChat
import LMKitGeneration
import LMKitModels
import LMKitNN
import LMKitOptimization
import LMKitTensor
import LMKitTokenizers
import LMKitTraining

/// Making the GPT trained in the tour smaller and faster, and measuring what it costs (study path
/// days 8–9: quantization, pruning, distillation): one table of size, speed and quality.
struct OptimizationChapter: TourChapter {
    let name = "optimization"
    let title = "Model optimization: quantization, pruning and distillation, in one trade-off table"

    /// One row of the table.
    struct Row {
        /// The name of its results (`<key>_perplexity`, `<key>_kld`).
        let key: String
        let technique: String, setting: String
        let bytes: Int
        let result: Perplexity.Result
    }

    func run(_ c: TourContext) throws -> [String: Double] {
        c.say(
            """
            Three ways to make a model cheaper. Quantization stores each weight in fewer bits: 8 (Q8_0), 4
            (Q4_0), or a mix of 4 to 6 with per-block scales (llama.cpp's k-quants), in the GGUF files
            llama.cpp and Ollama run; or, for CPU inference in PyTorch's style, int8 weights with activations
            quantized on the fly ("dynamic"). Pruning removes weights: the smallest ones (magnitude), or
            those whose |weight| × ‖input‖ is smallest on real text (Wanda, Sun et al. 2023). Distillation
            trains a smaller student on the big model's whole output distribution ("soft targets", Hinton et
            al. 2015) instead of on the next character alone.

            Each is measured the way the field reports it, on text the model never trained on: size,
            scoring speed, perplexity (lower is better), and the KL divergence of its next-character
            distributions from the original model's (0: identical; llama.cpp's --kl-divergence).
            """)
        guard c.assets.isPresent(.shakespeare) else {
            c.say("  (skipped: run `scripts/fetch-assets --only shakespeare`)")
            return [:]
        }
        let folder = c.assets.root + "/tour/gpt/model"
        if !FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
            c.say("\n(The GPT chapter's model is not in the cache yet: training it first.)")
            _ = try GPTChapter().run(c)
        }
        let work = c.assets.root + "/tour/optimization"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let corpus = try String(contentsOfFile: try c.assets.path(.shakespeare, "shakespeare.txt"), encoding: .utf8)
        let text = String(corpus.suffix(c.quick ? 3000 : 20_000))  // inside the validation split (the last 10%)
        let calibration = String(corpus.prefix(c.quick ? 4000 : 40_000))

        let teacher = try ModelLoader.load(folder)
        let tokenizer = teacher.tokenizer
        guard let gpt = teacher.model as? GPT2LMHeadModel else { throw GenerationError("\(folder) is not a GPT-2 folder") }
        let context = gpt.config.contextLength
        func score(_ model: any CausalLanguageModel, base: Bool = true) throws -> Perplexity.Result {
            try Perplexity.evaluate(model: model, tokenizer: tokenizer, text: text, context: context, base: base ? gpt : nil)
        }
        func fileSize(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let dense = fileSize(folder + "/model.safetensors")
        var rows = [Row(key: "float32", technique: "none", setting: "float32", bytes: dense, result: try score(gpt, base: false))]
        c.say(
            "\nThe model: the GPT trained in the tour, \(gpt.config.layers) layers × \(gpt.config.width), \(gpt.parameterCount) parameters; scored on the last \(text.count) characters of the works."
        )

        // Quantization: every linear layer's weight and the token embedding through a GGUF block type
        // and back, as LMKit computes with a GGUF GPT-2 file it loads.
        for type in [GGMLType.q8_0, .q5_0, .q4_0] {
            let copy = try ModelLoader.load(folder)
            guard let model = copy.model as? GPT2LMHeadModel else { throw GenerationError("\(folder) is not a GPT-2 folder") }
            var matrices: [Parameter] = LoRAAdapters.linearLayers(in: model).compactMap { ($0.layer as? Linear)?.weight }
            matrices.append(model.transformer.wte.weight)
            var bytes = dense
            for p in matrices where p.value.shape[1] % type.blockSize == 0 {
                let (rows, columns) = (p.value.shape[0], p.value.shape[1])
                let blocks = p.value.contiguous().withUnsafeScalars(Float.self) { GGMLQuantizer.quantize($0, as: type) }
                p.assign(QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: blocks).dequantized())
                bytes += blocks.count - 4 * rows * columns
            }
            rows.append(
                Row(
                    key: type.name.lowercased(), technique: "quantization (GGUF)", setting: type.name, bytes: bytes,
                    result: try score(model)))
        }
        // Dynamic int8: the same float file, int8 products.
        let dynamic = try ModelLoader.load(folder)
        guard let dynamicModule = dynamic.model as? Module else { throw GenerationError("\(folder): no linear layers to quantize") }
        let int8 = DynamicQuantization.quantize(dynamicModule)
        rows.append(
            Row(
                key: "int8_dynamic", technique: "quantization (dynamic)", setting: "int8, per token", bytes: int8.quantizedBytes,
                result: try score(dynamic.model)))

        // Pruning half the weights of every block.
        for method in [ModelPruner.Method.magnitude, .wanda] {
            let copy = try ModelLoader.load(folder)
            var pruner = ModelPruner(method: method, pattern: .unstructured(0.5))
            (pruner.chunks, pruner.context) = (c.quick ? 2 : 8, context)
            let report = try pruner.prune(copy.model, tokenizer: tokenizer, text: calibration)
            rows.append(
                Row(
                    key: "\(method.rawValue)_50", technique: "pruning 50%",
                    setting: "\(method.rawValue) (\(Int((100 * report.modelSparsity).rounded()))% of all)",
                    bytes: dense, result: try score(copy.model)))
        }

        // Distillation into fewer layers, against the same student trained on the text alone.
        let studentLayers = max(1, gpt.config.layers / 2)
        for (label, alpha) in [("distilled (T 2)", 0.5), ("text only", 0.0)] {
            var config = TrainingConfig()
            (config.layers, config.width, config.heads, config.context) = (studentLayers, gpt.config.width, gpt.config.heads, context)
            (config.batchSize, config.maxSteps, config.warmupSteps, config.evalInterval) = (
                c.quick ? 8 : 32, c.quick ? 20 : 200, c.quick ? 2 : 20, c.quick ? 20 : 200
            )
            (config.evalBatches, config.dropout, config.learningRate, config.minLearningRate) = (c.quick ? 2 : 8, 0, 2e-3, 2e-4)
            config.seed = c.seed
            config.distillation = DistillationConfig(teacher: folder, loss: DistillationLoss(temperature: 2, alpha: alpha))
            let out = "\(work)/student-\(alpha == 0 ? "text" : "distilled")"
            let trainer = try LanguageModelTrainer(config: config, corpus: try c.assets.path(.shakespeare, "shakespeare.txt"), output: out)
            let summary = try trainer.run()
            let student = try ModelLoader.load(out + "/model")
            let result = try score(student.model)
            rows.append(
                Row(
                    key: alpha == 0 ? "student_text_only" : "student_distilled", technique: "distillation",
                    setting: "\(studentLayers) layers, \(label), \(summary.steps) steps",
                    bytes: fileSize(out + "/model/model.safetensors"), result: result))
        }

        c.say("\nThe trade-off table (same text, same model; KLD from the float32 model):\n")
        c.say(
            "  technique               setting                              KB    chars/s  perplexity    KLD\n"
                + "  " + String(repeating: "-", count: 94))
        for r in rows {
            let speed = Double(r.result.tokens) / max(r.result.seconds, 1e-9)
            c.say(
                "  \(r.technique.padding(toLength: 23)) \(r.setting.padding(toLength: 34)) \(Format.fixed(Double(r.bytes) / 1000, 0).leftPadded(6)) \(Format.fixed(speed, 0).leftPadded(10)) \(Format.fixed(r.result.perplexity, 3).leftPadded(11)) \(Format.fixed(r.result.divergence?.meanKLD ?? 0, 4).leftPadded(8))"
            )
        }
        func row(_ key: String) -> Perplexity.Result { rows.first { $0.key == key }!.result }
        func kld(_ key: String) -> String { Format.fixed(row(key).divergence?.meanKLD ?? 0, 4) }
        func share(_ key: String) -> String { Format.fixed(100 * Double(rows.first { $0.key == key }!.bytes) / Double(dense), 0) + "%" }
        let (magnitude, wanda) = (row("magnitude_50").perplexity, row("wanda_50").perplexity)
        let (distilled, textOnly) = (row("student_distilled").perplexity, row("student_text_only").perplexity)
        c.say(
            """

            Reading it: 8-bit blocks cost little (KLD \(kld("q8_0"))), 5 and 4 bits more (\(kld("q5_0")), \(kld("q4_0"))),
            at \(share("q8_0")), \(share("q5_0")) and \(share("q4_0")) of the float32 size. The quantized rows compute with
            the weights each block type stores, expanded back to float32 as LMKit does when it loads a GGUF
            GPT-2 (so their speed is float32's; llama.cpp reads the blocks directly). `lmkit quantize` writes
            such blocks to a GGUF file for models whose tokenizer GGUF can carry (GPT-2's BPE,
            SentencePiece); this chapter's character vocabulary it cannot, so the sizes are computed.
            Dynamic int8 (KLD \(kld("int8_dynamic"))) speeds up large matrix products on CPUs: MiniLM runs twice as
            fast with it (`lmkit bench encoders --int8`); on a model this small the products are not where
            the time goes. Unstructured 50% sparsity keeps the dense file's size and shows which weights
            matter: here Wanda's perplexity is \(Format.fixed(wanda, 3)), magnitude's \(Format.fixed(magnitude, 3))\
            \(wanda < magnitude ? " (the inputs' norms pick better weights to drop)" : " (on a model this small the two are close; on Gemma 3 Wanda keeps perplexity at 41 where magnitude reaches 1,524, see benchmarks/RESULTS.md)").
            The student trained on the teacher's soft targets reaches \(Format.fixed(distilled, 3)), the same student on the
            text alone \(Format.fixed(textOnly, 3))\
            \(distilled < textOnly ? ": the teacher's whole distribution teaches more per step than the next character." : ": over this few steps the soft targets did not help (`benchmarks/optimization --part distillation` measures longer runs).")
            The files are in \(work); the same steps on real models: `lmkit quantize`, `lmkit prune`,
            `lmkit distill`, `lmkit embed sentence --int8`.
            """)
        var results: [String: Double] = [:]
        for r in rows {
            results[r.key + "_perplexity"] = r.result.perplexity
            if let d = r.result.divergence { results[r.key + "_kld"] = d.meanKLD }
            results[r.key + "_bytes"] = Double(r.bytes)
        }
        return results
    }
}

import Foundation
import LMKitAssets
import LMKitChat
import LMKitGeneration
import LMKitNN
import LMKitTraining

/// Fine-tuning a pre-trained model with LoRA (study path: fine-tuning, instruction tuning, a
/// chatbot trained on your own questions and answers).
struct FineTuneChapter: TourChapter {
    let name = "finetune"
    let title = "Fine-tuning with LoRA: Gemma 3 learns to answer questions about LMKit"

    /// Facts the base model cannot know, each asked three ways for training and a fourth way held out.
    static let facts: [(questions: [String], heldOut: String, answer: String)] = [
        (
            ["How do I run LMKit's tests?", "What command runs the test suite?", "How can I test LMKit?"],
            "Which command checks that LMKit works?", "Run make test."
        ),
        (
            ["How do I start the LMKit server?", "What command serves a model over HTTP?", "How do I run LMKit's API server?"],
            "How can I put a model behind an HTTP API?", "Run lmkit serve --model gemma."
        ),
        (
            ["Which port does lmkit serve use?", "What is the server's default port?", "On which port does LMKit listen?"],
            "Where does the LMKit server listen by default?", "Port 8080."
        ),
        (
            ["What files does a LoRA adapter have?", "What is in an adapter folder?", "Which files make up a LoRA adapter?"],
            "What does LMKit save for a LoRA adapter?", "adapter_config.json and adapter_model.safetensors."
        ),
        (
            ["How do I chat with my adapter?", "How do I use a fine-tuned adapter?", "How do I load an adapter in the chat?"],
            "How can I talk to the model I fine-tuned?", "Run lmkit chat --adapter OUT/model."
        ),
        (
            ["Where does LMKit keep its models?", "Where is the asset cache?", "Where are the downloaded models stored?"],
            "In which folder are LMKit's models cached?", "In ~/.cache/lmkit."
        ),
    ]

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        let gemma = try c.assets.path(.gemma)
        c.say(
            """
            A pre-trained model knows what its training text said, nothing about your project. Fine-tuning
            teaches it: here, six facts about LMKit, each asked three ways (18 short chats), and a fourth
            phrasing of each question kept aside to see whether the model learned the fact or the words.

            Full fine-tuning would update all 268M weights and keep AdamW's two moments for each: three
            copies of the model. LoRA (Hu et al. 2021) freezes the model and learns, beside each linear layer
            W, a low-rank update B·A (rank 8 here: A is 8 × in, B is out × 8, B starts at zero so training
            starts from the base model). QLoRA (Dettmers et al. 2023) also keeps the frozen weights quantized:
            here they stay in the GGUF file's 4-6-bit blocks, and the gradient flows back through them to the
            adapters of earlier layers. The loss is computed on the answers only: the model learns to answer,
            not to ask.
            """)
        let loaded = try ModelLoader.load(gemma)
        let before = try answers(loaded)
        let folder = NSTemporaryDirectory() + "lmkit-tour-finetune-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lines: [String] = []
        for fact in Self.facts {
            for q in fact.questions {
                let object: [String: Any] = ["messages": [["role": "user", "content": q], ["role": "assistant", "content": fact.answer]]]
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
            }
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: folder + "/facts.jsonl"))

        var lora = LoRAConfig(targets: .allLinear)
        (lora.rank, lora.alpha, lora.dropout) = (8, 16, 0)
        var config = TrainingConfig()
        config.fineTune = FineTuneConfig(model: gemma, method: .qlora, lora: lora)
        (config.context, config.batchSize, config.maxSteps, config.warmupSteps) = (128, 6, c.quick ? 3 : 36, c.quick ? 1 : 4)
        (config.learningRate, config.minLearningRate, config.weightDecay) = (1e-3, 1e-4, 0)
        (config.evalInterval, config.evalBatches, config.patience, config.validationFraction) = (c.quick ? 3 : 12, 2, 0, 0.15)
        config.seed = c.seed
        let trainer = try LanguageModelTrainer(config: config, corpus: folder + "/facts.jsonl", output: folder + "/run")
        c.say(
            """

            QLoRA, rank 8, on every linear layer of the 18 blocks: \(trainer.adapters?.layers.count ?? 0) adapters,
            \(Format.fixed(Double(trainer.adapters?.parameterCount ?? 0) / 1e6, 2))M trainable parameters (\(Format.fixed(100 * Double(trainer.adapters?.parameterCount ?? 0) / 268e6, 1))% of the model);
            \(config.maxSteps) steps of \(config.batchSize) chats:
            """)
        let summary = try trainer.run { p in
            if let r = p.evaluation {
                c.say(
                    "    step \(r.step): train loss \(Format.fixed(r.trainLoss, 3)), validation loss \(Format.fixed(r.validationLoss, 3)), \(Int(r.tokensPerSecond)) tokens/s"
                )
            }
        }
        results["final_validation_loss"] = summary.finalValidationLoss
        results["trainable_parameters"] = Double(summary.trainableParameters)
        let adapted = try ModelLoader.load(gemma, adapter: folder + "/run/model")
        let after = try answers(adapted)
        c.say("\n  The held-out questions, answered by the base model and then with the adapter (greedy):\n")
        var correctBefore = 0, correctAfter = 0
        for (i, fact) in Self.facts.enumerated() {
            let key =
                fact.answer.split(separator: " ").last.map { String($0).trimmingCharacters(in: .punctuationCharacters) } ?? fact.answer
            let ok = { (a: String) in a.lowercased().contains(key.lowercased()) }
            if ok(before[i]) { correctBefore += 1 }
            if ok(after[i]) { correctAfter += 1 }
            c.say(
                """
                    Q: \(fact.heldOut)
                       before: \(before[i].prefix(90))
                       after:  \(after[i].prefix(90))   \(ok(after[i]) ? "✓" : "✗") (expected: \(fact.answer))
                """)
        }
        results["held_out_correct_before"] = Double(correctBefore)
        results["held_out_correct_after"] = Double(correctAfter)
        c.say(
            """

              \(correctBefore) of \(Self.facts.count) held-out questions answered with the right fact before, \(correctAfter) after.
              The adapter is a peft folder: `lmkit chat --model gemma --adapter DIR`, or peft in Python. On your
              own data: `lmkit finetune lm data.jsonl --model gemma --qlora --out DIR` (Data/faq in the repository
              is a 314-chat example; `lmkit eval answers` scores held-out questions).
            """)
        return results
    }

    /// Each fact's held-out question, asked in a new conversation, answered greedily.
    func answers(_ loaded: LoadedModel) throws -> [String] {
        let chat = Conversation(model: loaded.model, tokenizer: loaded.tokenizer, template: loaded.template)
        return try Self.facts.map { fact in
            chat.reset()
            return try chat.send(fact.heldOut, maxTokens: 24, sampling: SamplingOptions(temperature: 0)).text
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " ")
        }
    }
}

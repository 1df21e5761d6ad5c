import ArgumentParser
import Foundation
import LMKitChat
import LMKitGeneration
import LMKitTensor

/// `lmkit eval`: measure models.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate models.",
        subcommands: [PerplexityCommand.self, AnswersCommand.self]
    )

    struct PerplexityCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "perplexity",
            abstract: "Perplexity of a language model on a text file.",
            discussion: """
                Every token is scored given the tokens before it, in windows of the model's context (at most
                2,048 tokens unless --context says otherwise) that overlap by half (each token is scored once,
                with at least half a window before it). Models with a large vocabulary (Gemma 3, Llama) run
                their output layer 32 positions at a time, so memory stays bounded.

                --method llama.cpp scores as llama.cpp's llama-perplexity does (consecutive chunks of --context
                tokens, each starting with BOS, only each chunk's second half scored; the tokens past the last
                whole chunk dropped), for numbers comparable with llama.cpp's on the same file.

                --kl-divergence-base BASE runs BASE (the unquantized or unpruned model: a folder, a GGUF file, or
                `gemma`) on the same windows and reports how far the model's next-token distributions are from
                BASE's at every scored position, as llama.cpp's --kl-divergence does: KL(BASE ‖ model) mean, median,
                99th percentile and maximum; the change of the probability of the right token; how often both rank
                the same token first. Both models run with --activations (int8 by default, as llama.cpp does).

                --json prints one JSON object:
                  {"tokens": Int, "nllPerToken": Double, "perplexity": Double, "nllPerCharacter": Double, "seconds": Double,
                   "divergence": {"basePerplexity", "meanKLD", "medianKLD", "p99KLD", "maxKLD", "meanDeltaP", "rmsDeltaP",
                                  "sameTop": Double} (with --kl-divergence-base)}
                """
        )

        @Option(help: "Model folder.") var model: String
        @Argument(help: "UTF-8 text file.") var file: String
        @Option(help: "Window length (default: the model's context, at most 2048).") var context: Int?
        @Option(help: "sliding (windows overlapping by half) or llama.cpp (its chunks).") var method: Perplexity.Method = .sliding
        @Option(help: "A base model to measure the KL divergence from (its folder, GGUF file, or gemma).") var klDivergenceBase: String?
        @Option(help: "A LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as peft saves) to put on the model.")
        var adapter: String?
        @Option(help: "Activations in products with quantized (GGUF) weights: int8 or float32.")
        var activations: QuantizedMatrix.Activations = .int8
        @Flag(help: "One JSON object instead of the report.") var json = false

        func run() throws {
            let text = try readTextFile(file)
            if let context, context < 2 { throw ValidationError("--context must be at least 2") }
            let loaded = try ModelLoader.load(model, activations: activations, adapter: adapter)
            let (lm, tokenizer) = (loaded.model, loaded.tokenizer)
            let base = try klDivergenceBase.map { try ModelLoader.load($0, activations: activations).model }
            let r = try Perplexity.evaluate(model: lm, tokenizer: tokenizer, text: text, context: context, method: method, base: base)
            if json { try printJSON(r); return }
            print(
                "perplexity \(String(format: "%.3f", r.perplexity))  (\(String(format: "%.4f", r.nllPerToken)) nats/token, \(String(format: "%.4f", r.nllPerCharacter)) nats/char, \(r.tokens) tokens, \(String(format: "%.1f", r.seconds)) s)"
            )
            if let d = r.divergence {
                func f(_ x: Double, _ digits: Int = 5) -> String { String(format: "%.\(digits)f", x) }
                print(
                    "base perplexity \(f(d.basePerplexity, 3)); KL divergence from the base: mean \(f(d.meanKLD)), median \(f(d.medianKLD)), 99% \(f(d.p99KLD)), max \(f(d.maxKLD))"
                )
                print(
                    "right token's probability change: mean \(f(100 * d.meanDeltaP, 3))%, RMS \(f(100 * d.rmsDeltaP, 3))%; same top token \(f(100 * d.sameTop, 2))%"
                )
            }
        }
    }
}

extension EvalCommand {
    /// `lmkit eval answers`: a chatbot's answers to held-out questions, scored against references.
    struct AnswersCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "answers",
            abstract: "Ask a chat model held-out questions and score its answers (ROUGE-L, facts found).",
            discussion: """
                FILE holds one JSON object per line: {"question": String, "answer": String, "facts": [String]}
                (Data/faq/heldout.jsonl is one). Each question is a new single-turn conversation through the model's
                chat template (as `lmkit chat` sends it), answered greedily. An answer is scored by ROUGE-L F1 against
                the reference answer (rouge-score's, with its Porter stemmer), and by the share of its "facts" strings
                it contains (case-insensitive); a question is "all facts" when every one is there.

                --json prints {"questions": Int, "rougeL": Double, "factRecall": Double, "allFacts": Double,
                "seconds": Double, "answers": [{"question", "reference", "answer", "rougeL", "facts": [String],
                "found": [String]}]}.
                """)

        @Argument(help: "Held-out questions (JSON lines).") var file: String
        @Option(help: "`gemma`, a GGUF file or a model folder.") var model = "gemma"
        @Option(help: "A LoRA adapter folder to put on the model.") var adapter: String?
        @Option(help: "Chat format: a built-in family or a .jinja file (default: the model's own).") var template: String?
        @Option(help: "Longest answer in tokens.") var maxTokens = 96
        @Option(help: "Activations in products with quantized weights: int8 or float32.") var activations: QuantizedMatrix.Activations =
            .int8
        @Flag(help: "Print JSON.") var json = false

        struct Question: Decodable { let question: String; let answer: String; let facts: [String] }
        struct Answer: Encodable { let question, reference, answer: String; let rougeL: Double; let facts, found: [String] }
        struct Output: Encodable {
            let questions: Int; let rougeL: Double; let factRecall: Double; let allFacts: Double; let seconds: Double; let answers: [Answer]
        }

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("\(file): cannot read it as UTF-8 text")
            }
            var questions: [Question] = []
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.allSatisfy(\.isWhitespace) {
                do { questions.append(try JSONDecoder().decode(Question.self, from: Data(line.utf8))) } catch {
                    throw ValidationError("\(file):\(i + 1): not a {\"question\", \"answer\", \"facts\"} object")
                }
            }
            guard !questions.isEmpty else { throw ValidationError("\(file): no questions") }
            let loaded = try ModelLoader.withTemplate(try ModelLoader.load(model, activations: activations, adapter: adapter), template)
            let chat = Conversation(model: loaded.model, tokenizer: loaded.tokenizer, template: loaded.template)
            let rouge = Rouge(stemming: true)
            let start = Date()
            var answers: [Answer] = []
            for (i, q) in questions.enumerated() {
                chat.reset()
                let reply = try chat.send(q.question, maxTokens: maxTokens, sampling: SamplingOptions(temperature: 0))
                let answer = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
                let found = q.facts.filter { answer.lowercased().contains($0.lowercased()) }
                let score = rouge.score(reference: q.answer, prediction: answer).rougeL.fmeasure
                answers.append(
                    Answer(question: q.question, reference: q.answer, answer: answer, rougeL: score, facts: q.facts, found: found))
                if !json {
                    printError(
                        "[\(i + 1)/\(questions.count)] ROUGE-L \(String(format: "%.3f", score)), facts \(found.count)/\(q.facts.count)")
                }
            }
            let n = Double(answers.count)
            let output = Output(
                questions: answers.count, rougeL: answers.reduce(0) { $0 + $1.rougeL } / n,
                factRecall: answers.reduce(0) { $0 + Double($1.found.count) / Double(max($1.facts.count, 1)) } / n,
                allFacts: Double(answers.filter { $0.found.count == $0.facts.count }.count) / n, seconds: Date().timeIntervalSince(start),
                answers: answers)
            if json { try printJSON(output); return }
            print(
                String(
                    format: "%d questions: ROUGE-L %.4f, facts found %.1f%%, answers with every fact %.1f%% (%.0f s)",
                    answers.count, output.rougeL, 100 * output.factRecall, 100 * output.allFacts, output.seconds))
        }
    }
}

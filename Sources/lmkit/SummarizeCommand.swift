import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitGeneration

/// `lmkit summarize`: summaries from a decoder, and their ROUGE against references.
struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Summarize a text with a language model, or score summaries of a test set with ROUGE.",
        discussion: """
            The model is prompted with `Article: TEXT\\n\\nSummary:` (the format of the Wikipedia summarization set
            that scripts/fetch-assets makes in $LMKIT_HOME/gensim-data/wiki-summaries, and that `lmkit finetune lm`
            trains on with its prompt/completion fields). A base model needs worked examples first: --shots K puts K
            of --examples FILE (default: the set's train split) before the text. A model fine-tuned on the set
            (--adapter) needs none. Decoding is greedy; a summary ends at the end-of-text token, a blank line, or
            --max-tokens.

            INPUT is a text file or the text itself. --eval FILE (JSON lines with "article" and "summary", or `wiki`
            for the set's test split) summarizes every article instead and reports ROUGE-1, ROUGE-2, ROUGE-L and
            ROUGE-Lsum F1 as Google's rouge-score computes them (--stemming: its Porter stemmer).

            --json prints {"summary": String, "promptTokens": Int, "generatedTokens": Int, "seconds": Double}; with
            --eval: {"examples": Int, "shots": Int, "stemming": Bool, "rouge": {"rouge1"|"rouge2"|"rougeL"|"rougeLsum":
            {"precision", "recall", "fmeasure"}}, "seconds": Double, "summaries": [{"reference", "prediction",
            "rougeL"}]}.
            """)

    @Argument(help: "A text file, or the text to summarize.") var input: String?
    @Option(help: "`gemma`, a GGUF file or a model folder.") var model = "gemma"
    @Option(help: "A LoRA adapter folder to put on the model.") var adapter: String?
    @Option(help: "Worked examples before the text (few-shot prompting).") var shots = 0
    @Option(help: "JSON lines with \"article\" and \"summary\" to take worked examples from (default: the set's train split).")
    var examples: String?
    @Option(help: "Score a test set instead: a JSON-lines file, or `wiki`.") var eval: String?
    @Option(help: "Longest summary in tokens.") var maxTokens = 128
    @Option(help: "Repetition penalty (1: none).") var repetitionPenalty = 1.0
    @Flag(help: "Porter-stem tokens for ROUGE (rouge-score's use_stemmer).") var stemming = false
    @Flag(help: "Print JSON.") var json = false

    struct Single: Encodable { let summary: String; let promptTokens: Int; let generatedTokens: Int; let seconds: Double }
    struct Scored: Encodable { let reference: String; let prediction: String; let rougeL: Double }
    struct Evaluation: Encodable {
        let examples: Int; let shots: Int; let stemming: Bool; let rouge: Rouge.Scores; let seconds: Double; let summaries: [Scored]
    }

    func validate() throws {
        guard shots >= 0, maxTokens > 0, repetitionPenalty > 0 else {
            throw ValidationError("--shots must be ≥ 0, --max-tokens and --repetition-penalty positive")
        }
        guard (input == nil) != (eval == nil) else { throw ValidationError("give a text (or file) to summarize, or --eval FILE") }
    }

    static func setSplit(_ name: String) throws -> String { try AssetStore().path(.gensimData, "wiki-summaries/\(name).jsonl") }

    func run() throws {
        let loaded = try ModelLoader.load(model, adapter: adapter)
        var summarizer = Summarizer(generator: Generator(model: loaded.model, tokenizer: loaded.tokenizer))
        summarizer.maxTokens = maxTokens
        summarizer.sampling.repetitionPenalty = repetitionPenalty
        if shots > 0 {
            let pool = try Summarizer.examples(fromJSONLines: try examples ?? Self.setSplit("train"))
            // The shortest examples, so the prompt stays small; fixed, so runs compare.
            summarizer.examples = Array(
                pool.sorted { ($0.article.count + $0.summary.count) < ($1.article.count + $1.summary.count) }.prefix(shots))
        }
        guard let eval else {
            let text: String
            if let input, FileManager.default.fileExists(atPath: input) {
                guard let t = FileManager.default.contents(atPath: input).flatMap({ String(data: $0, encoding: .utf8) }) else {
                    throw ValidationError("\(input): cannot read it as UTF-8 text")
                }
                text = t
            } else {
                text = input ?? ""
            }
            let r = try summarizer.summarize(text.trimmingCharacters(in: .whitespacesAndNewlines))
            if json {
                try printJSON(
                    Single(summary: r.text, promptTokens: r.promptTokens, generatedTokens: r.generatedTokens, seconds: r.seconds));
                return
            }
            print(r.text)
            return
        }
        let test = try Summarizer.examples(fromJSONLines: eval == "wiki" ? try Self.setSplit("test") : eval)
        let rouge = Rouge(stemming: stemming)
        let start = Date()
        var predictions: [String] = []
        for (i, e) in test.enumerated() {
            let r = try summarizer.summarize(e.article)
            predictions.append(r.text)
            if !json {
                printError(
                    "[\(i + 1)/\(test.count)] \(r.generatedTokens) tokens, ROUGE-L \(String(format: "%.3f", rouge.score(reference: e.summary, prediction: r.text).rougeL.fmeasure))"
                )
            }
        }
        let mean = rouge.mean(references: test.map(\.summary), predictions: predictions)
        let seconds = Date().timeIntervalSince(start)
        if json {
            let scored = zip(test, predictions).map {
                Scored(reference: $0.summary, prediction: $1, rougeL: rouge.score(reference: $0.summary, prediction: $1).rougeL.fmeasure)
            }
            try printJSON(
                Evaluation(examples: test.count, shots: shots, stemming: stemming, rouge: mean, seconds: seconds, summaries: scored))
            return
        }
        print(
            String(
                format: "ROUGE F1 over %d summaries (%d-shot%@): ROUGE-1 %.4f  ROUGE-2 %.4f  ROUGE-L %.4f  ROUGE-Lsum %.4f  (%.0f s)",
                test.count, shots, adapter.map { ", adapter \($0)" } ?? "", mean.rouge1.fmeasure, mean.rouge2.fmeasure,
                mean.rougeL.fmeasure, mean.rougeLsum.fmeasure, seconds))
    }
}

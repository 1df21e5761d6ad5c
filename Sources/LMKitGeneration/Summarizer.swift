import Foundation
import LMKitTokenizers

/// Summarizes a text with a decoder: a base model prompted with a few worked examples (few-shot), or
/// a model fine-tuned on `Article: …\n\nSummary:` prompts (the format of the Wikipedia summarization
/// set `scripts/fetch-assets` makes, and of its `prompt`/`completion` fields).
///
/// ```swift
/// let s = Summarizer(generator: Generator(model: model, tokenizer: tokenizer), examples: twoWorkedExamples)
/// let summary = try s.summarize(articleText)
/// ```
public struct Summarizer {
    /// An article and its reference summary.
    public struct Example: Codable, Sendable, Equatable {
        /// The text to summarize.
        public var article: String
        /// Its reference summary.
        public var summary: String
        /// An example pair.
        public init(article: String, summary: String) { (self.article, self.summary) = (article, summary) }
    }

    /// The model and tokenizer that write the summaries.
    public let generator: Generator
    /// Worked examples put before the article (few-shot prompting; empty for a fine-tuned model).
    public var examples: [Example]
    /// Longest summary, in tokens.
    public var maxTokens = 128
    /// Decoding settings (default: greedy, so results are reproducible).
    public var sampling = SamplingOptions(temperature: 0)

    /// A summarizer writing with `generator`, after `examples`.
    public init(generator: Generator, examples: [Example] = []) { (self.generator, self.examples) = (generator, examples) }

    /// The prompt for one article; training examples use the same (their completion is " " + summary).
    public static func prompt(_ article: String) -> String { "Article: \(article)\n\nSummary:" }

    /// The whole prompt: each worked example, then the article.
    public func prompt(for article: String) -> String {
        examples.map { Self.prompt($0.article) + " " + $0.summary + "\n\n" }.joined() + Self.prompt(article)
    }

    /// A summary of `article`: generated until the end-of-text token, a blank line or a new
    /// `Article:` (where a base model would go on with another example), or ``maxTokens``.
    public func summarize(_ article: String) throws -> Generator.Result {
        var r = try generator.generate(
            prompt(for: article), maxTokens: maxTokens, sampling: sampling, stopSequences: ["\n\n", "\nArticle:"], specialTokens: .text)
        r.text = r.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return r
    }

    /// Reads `{"article", "summary"}` objects, one per line (the summarization set's files; other
    /// keys are ignored). A bad line is an error naming the file and line.
    public static func examples(fromJSONLines path: String) throws(GenerationError) -> [Example] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw GenerationError("\(path): cannot read it as UTF-8 text")
        }
        var out: [Example] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let article = object["article"] as? String, let summary = object["summary"] as? String
            else { throw GenerationError("\(path):\(i + 1): not a JSON object with string \"article\" and \"summary\"") }
            out.append(Example(article: article, summary: summary))
        }
        guard !out.isEmpty else { throw GenerationError("\(path): no examples") }
        return out
    }
}

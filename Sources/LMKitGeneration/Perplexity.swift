import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// Perplexity of a model on a text: exp of the mean negative log-likelihood of each token given the
/// ones before it. Long texts are scored in windows of the model's context that overlap by half, each
/// token scored once with at least half a context before it (Hugging Face's "perplexity of
/// fixed-length models" method).
public enum Perplexity {
    /// The score of one text.
    public struct Result: Codable, Sendable {
        /// Tokens scored: every encoded token but the first (the BOS, where the tokenizer adds one).
        public var tokens: Int
        /// Mean negative log-likelihood, nats per token.
        public var nllPerToken: Double
        /// exp(`nllPerToken`): 1 is a perfect model, the vocabulary size a uniform guess.
        public var perplexity: Double
        /// Nats per character of the text (comparable across tokenizers).
        public var nllPerCharacter: Double
        /// Wall-clock seconds, tokenization included.
        public var seconds: Double
    }

    /// The longest window used when `context` is not given: attention over a window of T tokens
    /// holds T² scores per head, so a model with a 32K context (Gemma 3) is scored in 2,048-token
    /// windows unless asked otherwise.
    public static let defaultMaximumWindow = 2048

    /// How a text longer than the window is cut.
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// Windows overlapping by half, every token scored once (the default).
        case sliding
        /// llama.cpp's `llama-perplexity`: the tokens cut into consecutive chunks of the window (the rest
        /// dropped), each chunk starting with BOS in place of its first token, and only the second half
        /// of each chunk scored. Numbers comparable with llama.cpp's on the same file.
        case llamaCpp = "llama.cpp"
    }

    /// Scores `text` in windows of `context` tokens (nil: the model's context, at most ``defaultMaximumWindow``).
    /// `progress` receives the targets covered so far and their total after each window.
    public static func evaluate(
        model: any CausalLanguageModel, tokenizer: Tokenizer, text: String, context: Int? = nil, method: Method = .sliding,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        let start = Date()
        // The tokenizer's special tokens too: Gemma and the Llama family are scored after their BOS, as
        // llama.cpp does; GPT-2 adds none.
        let ids = try tokenizer.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        guard ids.count >= 2 else { throw GenerationError("the text has \(ids.count) token(s); perplexity needs at least 2") }
        guard ids.allSatisfy({ $0 < model.vocabSize }) else {
            throw GenerationError("the tokenizer gives ids outside the model's vocabulary")
        }
        let window = min(context ?? min(model.contextLength, defaultMaximumWindow), model.contextLength)
        guard window >= 2 else { throw GenerationError("a perplexity window needs at least 2 tokens, got \(window)") }
        var total = 0.0
        var scored = 0
        if method == .llamaCpp {
            let chunks = ids.count / window
            guard chunks > 0, window >= 4 else {
                throw GenerationError("the text has \(ids.count) tokens: llama.cpp's method needs at least one chunk of \(window)")
            }
            let bos = try tokenizer.encode("", options: .init(addSpecialTokens: true, specialTokens: .text)).ids.first
            let first = window / 2
            for c in 0..<chunks {
                var input = Array(ids[(c * window)..<((c + 1) * window)])
                if let bos { input[0] = bos }
                let targets = (0..<window).map { j in j >= first && j < window - 1 ? ids[c * window + j + 1] : -100 }
                let (sum, count) = model.summedNLL(input, targets: targets)
                total += sum
                scored += count
                progress((c + 1) * window, chunks * window)
            }
            let nll = total / Double(scored)
            return Result(
                // Per character: the per-token rate times the text's tokens per character.
                tokens: scored, nllPerToken: nll, perplexity: Foundation.exp(nll),
                nllPerCharacter: nll * Double(ids.count) / Double(max(1, text.count)),
                seconds: Date().timeIntervalSince(start))
        }
        let stride = max(1, window / 2)
        var begin = 0
        var previousEnd = 0
        while true {
            let end = min(begin + window, ids.count - 1)  // inputs ids[begin..<end], targets ids[begin+1...end]
            let input = Array(ids[begin..<end])
            var targets = Array(ids[(begin + 1)...end])
            let fresh = end - max(previousEnd, begin)  // score only targets not scored before
            for i in 0..<(targets.count - fresh) { targets[i] = -100 }
            let (sum, count) = model.summedNLL(input, targets: targets)
            total += sum
            scored += count
            previousEnd = end
            progress(end, ids.count - 1)
            if end >= ids.count - 1 { break }
            begin += stride
        }
        let nll = total / Double(scored)
        return Result(
            tokens: scored, nllPerToken: nll, perplexity: Foundation.exp(nll),
            nllPerCharacter: total / Double(max(1, text.count)), seconds: Date().timeIntervalSince(start))
    }
}

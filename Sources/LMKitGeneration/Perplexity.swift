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
        /// With a base model: how far this model's distributions are from the base's.
        public var divergence: Divergence?
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

    /// How far a model's next-token distributions are from a base model's (llama.cpp's
    /// `--kl-divergence` report: the quality loss of a quantized or pruned model), over the scored positions.
    public struct Divergence: Codable, Sendable {
        /// The base model's perplexity on the same tokens.
        public var basePerplexity: Double
        /// Mean, median, 99th percentile and largest KL(base ‖ model) per position, in nats.
        public var meanKLD: Double, medianKLD: Double, p99KLD: Double, maxKLD: Double
        /// Mean and root-mean-square change of the probability given to the right token (model − base).
        public var meanDeltaP: Double, rmsDeltaP: Double
        /// Share of positions where both models rank the same token first.
        public var sameTop: Double
    }

    /// Scores `text` in windows of `context` tokens (nil: the model's context, at most ``defaultMaximumWindow``).
    /// With `base`, also how far `model`'s distributions are from `base`'s (``Result/divergence``); the
    /// two must share the tokenizer. `progress` receives the windows scored so far and their total.
    public static func evaluate(
        model: any CausalLanguageModel, tokenizer: Tokenizer, text: String, context: Int? = nil, method: Method = .sliding,
        base: (any CausalLanguageModel)? = nil, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        let start = Date()
        // The tokenizer's special tokens too: Gemma and the Llama family are scored after their BOS, as
        // llama.cpp does; GPT-2 adds none.
        let ids = try tokenizer.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        guard ids.count >= 2 else { throw GenerationError("the text has \(ids.count) token(s); perplexity needs at least 2") }
        guard ids.allSatisfy({ $0 < model.vocabSize }) else {
            throw GenerationError("the tokenizer gives ids outside the model's vocabulary")
        }
        if let base, base.vocabSize != model.vocabSize {
            throw GenerationError("the base model has \(base.vocabSize) tokens, the model \(model.vocabSize): they cannot be compared")
        }
        var window = min(context ?? min(model.contextLength, defaultMaximumWindow), model.contextLength)
        if let base { window = min(window, base.contextLength) }
        guard window >= 2 else { throw GenerationError("a perplexity window needs at least 2 tokens, got \(window)") }

        // The windows: inputs and their targets (−100: not scored here).
        var windows: [(input: [Int], targets: [Int])] = []
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
                windows.append((input, (0..<window).map { j in j >= first && j < window - 1 ? ids[c * window + j + 1] : -100 }))
            }
        } else {
            let stride = max(1, window / 2)
            var begin = 0, previousEnd = 0
            while true {
                let end = min(begin + window, ids.count - 1)  // inputs ids[begin..<end], targets ids[begin+1...end]
                var targets = Array(ids[(begin + 1)...end])
                let fresh = end - max(previousEnd, begin)  // score only targets not scored before
                for i in 0..<(targets.count - fresh) { targets[i] = -100 }
                windows.append((Array(ids[begin..<end]), targets))
                previousEnd = end
                if end >= ids.count - 1 { break }
                begin += stride
            }
        }

        var total = 0.0, scored = 0
        var comparison = base.map { _ in Comparison() }
        for (i, w) in windows.enumerated() {
            if let base {
                comparison!.add(model: model.logProbabilities(w.input), base: base.logProbabilities(w.input), targets: w.targets)
            } else {
                let (sum, count) = model.summedNLL(w.input, targets: w.targets)
                total += sum
                scored += count
            }
            progress(i + 1, windows.count)
        }
        if let c = comparison { (total, scored) = (c.nll, c.count) }
        let nll = total / Double(scored)
        // Per character: llama.cpp's method drops the tail, so its rate is the per-token rate times the
        // text's tokens per character.
        let perCharacter = method == .llamaCpp ? nll * Double(ids.count) / Double(max(1, text.count)) : total / Double(max(1, text.count))
        return Result(
            tokens: scored, nllPerToken: nll, perplexity: Foundation.exp(nll), nllPerCharacter: perCharacter,
            seconds: Date().timeIntervalSince(start), divergence: comparison?.divergence)
    }

    /// Running sums of a model against a base, position by position.
    struct Comparison {
        var nll = 0.0, baseNLL = 0.0, count = 0
        var kld: [Double] = [], deltaP: [Double] = [], same = 0

        /// Adds the scored positions of one window, 32 positions of both models' output at a time.
        mutating func add(model: (Range<Int>) -> Tensor, base: (Range<Int>) -> Tensor, targets: [Int]) {
            for start in stride(from: 0, to: targets.count, by: 32) {
                let range = start..<min(start + 32, targets.count)
                guard targets[range].contains(where: { $0 != -100 }) else { continue }
                let q = model(range).scalars(as: Float.self), p = base(range).scalars(as: Float.self)
                let v = q.count / range.count
                for i in range where targets[i] != -100 {
                    let row = (i - start) * v
                    var kl = 0.0, bestQ = 0, bestP = 0
                    for j in 0..<v {
                        let lp = Double(p[row + j])
                        kl += Foundation.exp(lp) * (lp - Double(q[row + j]))
                        if q[row + j] > q[row + bestQ] { bestQ = j }
                        if p[row + j] > p[row + bestP] { bestP = j }
                    }
                    let t = targets[i]
                    nll -= Double(q[row + t])
                    baseNLL -= Double(p[row + t])
                    kld.append(max(0, kl))
                    deltaP.append(Foundation.exp(Double(q[row + t])) - Foundation.exp(Double(p[row + t])))
                    if bestQ == bestP { same += 1 }
                    count += 1
                }
            }
        }

        var divergence: Divergence {
            let sorted = kld.sorted()
            func quantile(_ f: Double) -> Double {
                sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((f * Double(sorted.count - 1)).rounded()))]
            }
            let n = Double(max(1, count))
            return Divergence(
                basePerplexity: Foundation.exp(baseNLL / n), meanKLD: kld.reduce(0, +) / n, medianKLD: quantile(0.5),
                p99KLD: quantile(0.99), maxKLD: sorted.last ?? 0, meanDeltaP: deltaP.reduce(0, +) / n,
                rmsDeltaP: (deltaP.map { $0 * $0 }.reduce(0, +) / n).squareRoot(), sameTop: Double(same) / n)
        }
    }
}

import Foundation
import LMKitTensor

/// How the next token is chosen from the model's logits.
///
/// Applied in this order, as Hugging Face `generate` does: repetition penalty, temperature, top-k,
/// top-p; then a draw from what is left. Temperature 0 is greedy decoding (the arg max, no draw).
public struct SamplingOptions: Codable, Sendable, Equatable {
    /// 0: greedy; below 1 sharper, above 1 flatter.
    public var temperature = 1.0
    /// Keep only the k most likely tokens (0: all).
    public var topK = 0
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: all).
    public var topP = 1.0
    /// Divide positive logits (multiply negative ones) of tokens already in the text by this
    /// (CTRL, Keskar et al. 2019); 1: off.
    public var repetitionPenalty = 1.0
    /// Seed of the sampler's random stream: the same seed, model and prompt give the same text.
    public var seed: UInt64 = 0

    /// The defaults draw from the model's full distribution, unchanged (temperature 1, no top-k, top-p or penalty).
    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, repetitionPenalty: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP
        self.repetitionPenalty = repetitionPenalty; self.seed = seed
    }

    /// Throws unless temperature ≥ 0, top-k ≥ 0, top-p is in (0, 1] and the repetition penalty is > 0 (all finite).
    public func validate() throws(GenerationError) {
        guard temperature >= 0, temperature.isFinite else { throw GenerationError("temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw GenerationError("top-k must be ≥ 0, got \(topK)") }
        guard topP > 0 && topP <= 1 else { throw GenerationError("top-p must be in (0, 1], got \(topP)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw GenerationError("repetition penalty must be > 0, got \(repetitionPenalty)")
        }
    }
}

/// Draws tokens with ``SamplingOptions``; owns its random stream so a seed gives the same text.
public struct Sampler: Sendable {
    /// The settings every draw applies.
    public let options: SamplingOptions
    var generator: RandomGenerator

    /// A sampler whose random stream starts from `options.seed`.
    public init(_ options: SamplingOptions) {
        self.options = options
        generator = RandomGenerator(seed: options.seed)
    }

    /// The next token from one position's logits, given the ids so far (for the repetition penalty).
    public mutating func next(logits: [Float], history: [Int]) -> Int {
        var l = logits.map(Double.init)
        if options.repetitionPenalty != 1 {
            for id in Set(history) where id >= 0 && id < l.count {
                l[id] = l[id] > 0 ? l[id] / options.repetitionPenalty : l[id] * options.repetitionPenalty
            }
        }
        if options.temperature == 0 {
            var best = 0
            for i in l.indices where l[i] > l[best] { best = i }
            return best
        }
        for i in l.indices { l[i] /= options.temperature }
        // Candidates, by decreasing logit when top-k or top-p needs the order.
        var order = Array(l.indices)
        if options.topK > 0 || options.topP < 1 { order.sort { l[$0] > l[$1] } }
        if options.topK > 0 && options.topK < order.count { order = Array(order.prefix(options.topK)) }
        let maxLogit = order.map { l[$0] }.max() ?? 0
        var probabilities = order.map { Foundation.exp(l[$0] - maxLogit) }
        var total = probabilities.reduce(0, +)
        if options.topP < 1 {
            var cumulative = 0.0
            var keep = 0
            for p in probabilities {
                cumulative += p / total
                keep += 1
                if cumulative >= options.topP { break }
            }
            order = Array(order.prefix(keep))
            probabilities = Array(probabilities.prefix(keep))
            total = probabilities.reduce(0, +)
        }
        let u = Double(generator.next() >> 11) / Double(1 << 53) * total
        var acc = 0.0
        for (k, p) in probabilities.enumerated() {
            acc += p
            if u < acc { return order[k] }
        }
        return order.last ?? 0
    }
}

/// Generation that cannot go on, with the reason.
public struct GenerationError: Error, CustomStringConvertible, Sendable {
    /// The reason, as a sentence for the user.
    public let description: String
    /// An error that reports `description`.
    public init(_ description: String) { self.description = description }
}

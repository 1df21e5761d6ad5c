// Where each token looks: one layer's (and head's) attention probabilities for a sentence, drawn as
// "The Illustrated BERT" and Clark et al. 2019 ("What Does BERT Look At?") draw them.
import Foundation
import LMKitModels
import LMKitPlot
import LMKitTensor

/// The attention probabilities of one layer and head (or the mean over heads) for one text.
public struct AttentionMap: Codable, Sendable {
    /// The text's tokens, special tokens included: the labels of both axes.
    public var tokens: [String]
    /// The layer the weights come from (0-based).
    public var layer: Int
    /// The head, or nil for the mean over all heads.
    public var head: Int?
    /// `weights[query][key]`; each row sums to 1.
    public var weights: [[Double]]

    /// Runs `encoder` on `text` and keeps layer `layer`'s attention (0-based), head `head` or the mean.
    public static func compute(
        encoder: TransformerEncoder, tokenizer: EncoderTokenizer, text: String,
        layer: Int, head: Int?
    ) throws -> AttentionMap {
        let c = encoder.config
        guard (0..<c.layers).contains(layer) else { throw ModelError("layer \(layer) is outside 0…\(c.layers - 1)") }
        if let head, !(0..<c.heads).contains(head) { throw ModelError("head \(head) is outside 0…\(c.heads - 1)") }
        let batch = try tokenizer.batch([text])
        let out = GradMode.withoutGradient {
            encoder(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask, outputAttentions: true)
        }
        let a = out.attentions[layer]  // (1, H, T, T)
        let (h, t) = (a.shape[1], a.shape[2])
        let v = a.scalars(as: Float.self)
        let heads = head.map { [$0] } ?? Array(0..<h)
        let weights = (0..<t).map { i in
            (0..<t).map { j in heads.reduce(0.0) { $0 + Double(v[($1 * t + i) * t + j]) } / Double(heads.count) }
        }
        return AttentionMap(tokens: batch.encodings[0].tokens, layer: layer, head: head, weights: weights)
    }

    /// The heat map: queries down the side, keys along the top.
    public func svg(title: String? = nil) -> String {
        let name = title ?? "Attention, layer \(layer)" + (head.map { ", head \($0)" } ?? ", mean over heads")
        return HeatMap(
            title: name, rowLabels: tokens, columnLabels: tokens, values: weights, maximum: 1,
            showValues: tokens.count <= 16, rowTitle: "query (attends from)", columnTitle: "key (attends to)"
        ).svg()
    }
}

// The `--type` names of `lmkit quantize`, as llama-quantize names them (llama.cpp's `llama_ftype`),
// and the type each tensor gets under them: llama.cpp's rules (`llama_tensor_get_type` in
// src/llama-quant.cpp) for the families LMKit writes. A "mix" such as Q4_K_M keeps the tensors that
// weigh most on quality at more bits: the output layer at Q6_K, and attn_v and ffn_down at Q6_K in
// the first and last eighth of the layers and every third layer between.
import LMKitTensor

/// A quantization type for a whole model: its main ggml type and how llama.cpp mixes in others.
public struct QuantizationPreset: Sendable, Equatable {
    /// llama-quantize's name (`Q4_K_M`).
    public let name: String
    /// The type of most matrices.
    public let base: GGMLType
    /// `general.file_type` (llama.cpp's `llama_ftype`).
    public let fileType: UInt32
    /// The k-quant mixes: small and medium keep attn_v and ffn_down at more bits.
    enum Mix: Sendable { case none, kSmall, kMedium }
    let mix: Mix

    /// Every preset, in llama-quantize's order of size.
    public static let all: [QuantizationPreset] = [
        .init(name: "F32", base: .f32, fileType: 0, mix: .none), .init(name: "F16", base: .f16, fileType: 1, mix: .none),
        .init(name: "BF16", base: .bf16, fileType: 32, mix: .none), .init(name: "Q8_0", base: .q8_0, fileType: 7, mix: .none),
        .init(name: "Q6_K", base: .q6_K, fileType: 18, mix: .none), .init(name: "Q5_K_M", base: .q5_K, fileType: 17, mix: .kMedium),
        .init(name: "Q5_K_S", base: .q5_K, fileType: 16, mix: .kSmall), .init(name: "Q5_1", base: .q5_1, fileType: 9, mix: .none),
        .init(name: "Q5_0", base: .q5_0, fileType: 8, mix: .none), .init(name: "Q4_K_M", base: .q4_K, fileType: 15, mix: .kMedium),
        .init(name: "Q4_K_S", base: .q4_K, fileType: 14, mix: .kSmall), .init(name: "Q4_1", base: .q4_1, fileType: 3, mix: .none),
        .init(name: "Q4_0", base: .q4_0, fileType: 2, mix: .none),
    ]

    /// The preset named `name` in any case; `q4_k` and `q5_k` are the medium mixes, as in llama-quantize.
    public init?(name: String) {
        let upper = name.uppercased()
        let canonical = upper == "Q4_K" ? "Q4_K_M" : upper == "Q5_K" ? "Q5_K_M" : upper
        guard let p = Self.all.first(where: { $0.name == canonical }) else { return nil }
        self = p
    }

    init(name: String, base: GGMLType, fileType: UInt32, mix: Mix) {
        (self.name, self.base, self.fileType, self.mix) = (name, base, fileType, mix)
    }

    /// The names `--type` takes.
    public static var names: [String] { all.map { $0.name.lowercased() } + ["q4_k", "q5_k"] }
}

/// The type of every tensor of a file, decided before any is written (llama.cpp counts attn_v and
/// ffn_down tensors in layer order to place the extra bits).
struct TensorTypePlan {
    let preset: QuantizationPreset
    /// Every matrix in the base type (llama-quantize `--pure`), except what is named explicitly.
    var pure = false
    var outputType: GGMLType?
    var embeddingType: GGMLType?
    var overrides: [(pattern: String, type: GGMLType)] = []
    /// An importance matrix is used (Q4_0/Q5_0 then keep the first eighth of ffn_down at Q4_1/Q5_1).
    var hasImportance = false
    /// Llama 2/3 70B (80 layers, grouped-query attention): attn_v one k-quant step up.
    var isLlama70B = false

    /// The stored type of each tensor (`name`, PyTorch-order `shape`), and the names that fell back
    /// to another type because their rows do not fill the chosen type's blocks.
    func types(for tensors: [(name: String, shape: [Int])]) -> (types: [String: GGMLType], fallbacks: [String]) {
        let tied = !tensors.contains { $0.name == "output.weight" }
        let layerCount = Set(tensors.compactMap { Self.layer(of: $0.name) }).count
        let valueCount = tensors.filter { Self.isAttentionValue($0.name) }.count
        var iValue = 0, iDown = 0
        var out: [String: GGMLType] = [:], fallbacks: [String] = []
        // llama.cpp's order: tensors outside the layers first, then layer by layer, by name within each.
        let ordered = tensors.sorted { (Self.layer(of: $0.name) ?? -1, $0.name) < (Self.layer(of: $1.name) ?? -1, $1.name) }
        for (name, shape) in ordered {
            guard Self.isQuantizable(name, shape: shape) else {
                out[name] = .f32
                continue
            }
            let isOutput = name == "output.weight", isEmbedding = name == "token_embd.weight"
            var t = preset.base
            if let embeddingType, isEmbedding {
                t = embeddingType
            } else if let outputType, isOutput {
                t = outputType
            } else if preset.base.blockSize == 1 {
                // Float types: every matrix in it.
            } else if let rule = overrides.first(where: { name.range(of: $0.pattern, options: .regularExpression) != nil }) {
                t = rule.type
            } else if !pure {
                let columns = shape.last!
                if isOutput || (tied && isEmbedding) {
                    t = outputType ?? (columns % t.blockSize != 0 ? .q8_0 : t == .q8_0 ? .q8_0 : .q6_K)
                } else if isEmbedding {
                    // The base type.
                } else if Self.isAttentionValue(name) {
                    if preset.mix == .kMedium && Self.moreBits(iValue, valueCount) { t = .q6_K }
                    if preset.mix == .kSmall && iValue < 4 { t = .q5_K }
                    if isLlama70B && (t == .q3_K || t == .q4_K) { t = .q5_K }
                    iValue += 1
                } else if name.contains("ffn_down") {
                    if preset.mix == .kMedium && Self.moreBits(iDown, layerCount) { t = .q6_K }
                    if preset.mix == .kSmall && preset.base == .q4_K && iDown < layerCount / 8 { t = .q5_K }
                    if (preset.base == .q4_0 || preset.base == .q5_0) && hasImportance && iDown < layerCount / 8 {
                        t = preset.base == .q4_0 ? .q4_1 : .q5_1
                    }
                    iDown += 1
                }
            }
            let fallback = Self.fallback(t, columns: shape.last!)
            if fallback != t { fallbacks.append(name) }
            out[name] = fallback
        }
        return (out, fallbacks)
    }

    /// llama.cpp's `use_more_bits`: the first and last eighth of the layers and every third between.
    static func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }

    static func isAttentionValue(_ name: String) -> Bool { name.contains("attn_v.weight") || name.contains("attn_qkv.weight") }

    /// The layer index of `blk.N.…`.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0.isNumber })
    }

    /// Matrices ending in "weight"; vectors, rotary frequencies and vision position embeddings stay float32.
    static func isQuantizable(_ name: String, shape: [Int]) -> Bool {
        shape.count >= 2 && name.hasSuffix("weight") && name != "rope_freqs.weight" && !name.contains(".position_embd")
    }

    /// A type whose blocks the rows fill: the k-quants fall back to 32-weight types of about the same
    /// bits, then F16 (llama.cpp's `tensor_type_fallback`).
    static func fallback(_ t: GGMLType, columns: Int) -> GGMLType {
        if columns % t.blockSize == 0 { return t }
        let next: GGMLType = [.q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0][t] ?? t
        return columns % next.blockSize == 0 ? next : .f16
    }
}

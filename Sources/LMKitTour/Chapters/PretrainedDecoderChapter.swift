import Foundation
import LMKitAssets
import LMKitGeneration
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// A real pre-trained decoder LLM (study path: using pre-trained models for generation).
struct PretrainedDecoderChapter: TourChapter {
    let name = "gemma"
    let title = "A real pre-trained LLM: Gemma 3 270M, its next-token probabilities, and generation"

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        let path = try c.assets.path(.gemma)
        c.say(
            """
            Gemma 3 270M is a decoder like the GPT of the previous chapter, grown up: 18 layers of width 640,
            a 262,144-token SentencePiece vocabulary, grouped-query attention (4 query heads share 1 key/value
            head), rotary positions, and layers that alternate between a 512-token sliding window and full
            attention. It was pretrained by Google on trillions of tokens. The file here is llama.cpp's GGUF
            format, quantized to 4-8 bits per weight (Q4_K_M, 253 MB). LMKit keeps the weights in those
            blocks, memory-mapped, and multiplies them in integers with activations quantized to 8 bits, as
            llama.cpp does. It is a base model: it continues text, it does not follow instructions.
            """)
        let t0 = Date()
        let file = try GGUFFile(path: path)
        let model = try Gemma3ForCausalLM.load(gguf: file)
        let tokenizer = try Tokenizer.gguf(file)
        c.say(
            "  loaded \(Format.fixed(Double(model.parameterCount) / 1e6, 1))M parameters in \(Format.fixed(Date().timeIntervalSince(t0), 1)) s"
        )

        let prompt = "The capital of France is"
        let ids = try tokenizer.encode(prompt, options: .init(addSpecialTokens: true)).ids
        c.say(
            """

            1. Next-token probabilities. The prompt "\(prompt)" is \(ids.count) tokens (with <bos>). The model
            gives a score to every one of the 262,144 tokens; softmax turns them into probabilities:
            """)
        let logits = GradMode.withoutGradient { model(Tensor(indices: ids, shape: [1, ids.count])) }
        let v = model.config.vocabSize
        let last = Array(logits.scalars(as: Float.self)[(ids.count - 1) * v..<ids.count * v]).map(Double.init)
        let top = last.max()!
        let total = last.reduce(0) { $0 + Foundation.exp($1 - top) }
        let best = last.indices.sorted { last[$0] > last[$1] }.prefix(8)
        for id in best {
            let p = Foundation.exp(last[id] - top) / total
            let piece = (try? tokenizer.decode([id])) ?? "?"
            c.say("    \(Format.fixed(p, 3))  \(piece.debugDescription)")
        }
        if let first = best.first {
            results["top_probability"] = Foundation.exp(last[first] - top) / total
            results["paris_rank"] = Double(
                (best.firstIndex { ((try? tokenizer.decode([$0])) ?? "").contains("Paris") }).map { $0 + 1 } ?? 0)
        }

        c.say(
            """

            2. Generation: repeatedly pick a next token and feed it back (a KV cache keeps the keys and
            values of earlier positions, so each new token costs one position). Greedy (always the most
            likely token), then sampled at temperature 0.8 with top-k 40:
            """)
        let generator = Generator(model: model, tokenizer: tokenizer)
        let tokens = c.quick ? 12 : 40
        for (label, sampling) in [
            ("greedy", SamplingOptions(temperature: 0)), ("sampled", SamplingOptions(temperature: 0.8, topK: 40, seed: c.seed)),
        ] {
            let r = try generator.generate("Once upon a time, in a small village,", maxTokens: tokens, sampling: sampling)
            c.say("    \(label): \"Once upon a time, in a small village,\(r.text)\"")
            results["\(label)_tokens_per_second"] = r.tokensPerSecond
        }
        c.say(
            """

              `lmkit generate --model gemma "your prompt"` continues any prompt (sampling flags in --help);
              `lmkit inspect \(path)` shows the file's metadata and quantized tensors.
            """)
        return results
    }
}

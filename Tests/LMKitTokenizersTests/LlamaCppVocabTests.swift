import Foundation
import LMKitTokenizers
import Testing
import TestSupport

/// Real tokenizers as llama.cpp ships them for its own tokenizer tests: vocabulary-only GGUF files
/// (`models/ggml-vocab-NAME.gguf`) with their inputs (`.inp`, texts separated by
/// `__ggml_vocab_test__` lines) and llama.cpp's token ids (`.out`, one line per text, no special
/// tokens added), from the asset `llama-cpp` (unpacked by `scripts/fetch-assets` from the PyPI sdist
/// llama-cpp-python==0.3.36). `llama-bpe` is Llama 3's tokenizer (128,256 tokens, its regex pre-tokenizer);
/// `qwen2` Qwen2's; `gpt-2` GPT-2's; `llama-spm` Llama 2's SentencePiece BPE.
@Suite struct LlamaCppVocabTests {
    @Test(arguments: ["llama-bpe", "qwen2", "gpt-2", "llama-spm"]) func idsMatchLlamaCpp(name: String) throws {
        guard TestAssets.available(.llamaCpp) else { return }
        let base = TestAssets.store.folder(.llamaCpp) + "/vocab/ggml-vocab-\(name).gguf"
        let tokenizer = try Tokenizer.gguf(base)
        let inputs = try String(contentsOfFile: base + ".inp", encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n")
            .dropLast()
        let outputs = try String(contentsOfFile: base + ".out", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(inputs.count >= 40 && outputs.count >= inputs.count)
        var failures = 0
        for (text, line) in zip(inputs, outputs) {
            let expected = line.split(separator: " ").compactMap { Int($0) }
            let ids = try tokenizer.encodeIDs(text, specialTokens: .text)
            if ids != expected {
                failures += 1
                if failures <= 3 {
                    Issue.record("\(name) \(text.prefix(60).debugDescription): \(ids.prefix(16)) vs \(expected.prefix(16))")
                }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(inputs.count) texts differ from llama.cpp")
    }
}

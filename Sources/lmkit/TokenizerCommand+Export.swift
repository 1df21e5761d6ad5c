import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitTensor
import LMKitTokenizers

extension TokenizerCommand {
    /// `lmkit tokenizer export`: a GGUF file's tokenizer as tokenizer.json + tokenizer_config.json.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a GGUF file's tokenizer as Hugging Face tokenizer.json + tokenizer_config.json.",
            discussion: """
                --model is a GGUF file or `gemma` (the Gemma 3 270M asset). SentencePiece tokenizers ("llama": Gemma,
                Llama 1-2, Mistral) become a BPE model with byte fallback whose merges rank pieces by their scores;
                byte-level BPE ("gpt2": Llama 3, Qwen2, GPT-2) keeps its vocabulary, merges and pre-tokenizer. Both
                tokenize as the GGUF file does, in transformers (AutoTokenizer) and in LMKit. tokenizer_config.json
                holds the special tokens, whether BOS/EOS are added, and the chat template LMKit uses for the model
                (the file's own, or the built-in one). `lmkit lora merge` and `lmkit finetune lm --full` write the
                same files beside a model made from a GGUF file. Files are written atomically.

                --json prints {"out": String, "files": [String], "vocab_size": Int, "template": String}.
                """)

        @Option(help: "A GGUF file, or `gemma`.") var model: String
        @Option(help: "Output folder.") var out: String
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable {
            let out: String
            let files: [String]
            let vocab_size: Int
            let template: String
        }

        func run() throws {
            let path = model == "gemma" ? try AssetStore().path(.gemma) : model
            let file = try GGUFFile(path: path)
            let template = try ChatTemplate.forModel(gguf: file)
            let files = try ModelLoader.tokenizerFiles(gguf: file, template: template)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for (name, bytes) in files { try AtomicFile.write(bytes, to: out + "/" + name) }
            let vocab = try Tokenizer(contentsOf: out).vocabSize  // read back: what was written loads
            if json {
                try printJSON(Output(out: out, files: files.map(\.name), vocab_size: vocab, template: template.origin))
                return
            }
            print("wrote \(files.map(\.name).joined(separator: ", ")) to \(out): \(vocab) tokens, chat template \(template.origin)")
        }
    }
}

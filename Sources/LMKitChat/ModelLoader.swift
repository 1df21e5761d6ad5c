import Foundation
import LMKitAssets
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// A language model ready to use: the model, its tokenizer and chat template, a LoRA adapter if one
/// was put on it, and the name an API shows for it.
public struct LoadedModel {
    /// The model (through ``ModelRegistry``).
    public let model: any CausalLanguageModel
    /// Its tokenizer (the folder's files, or the GGUF file's metadata).
    public let tokenizer: Tokenizer
    /// Its own chat template, or the built-in "plain" one when it has none.
    public let template: ChatTemplate
    /// The LoRA adapter on the model (nil without `--adapter`, or once merged).
    public let adapter: LoRAAdapters?
    /// The name `/v1/models` lists: the folder's or file's name, `gemma-3-270m` for the asset.
    public let name: String
    /// Whether the model came from a GGUF file.
    public let isGGUF: Bool
    /// The tokenizer and template files to save beside a model made from this one: a folder's own
    /// files, or for a GGUF file (when loaded with `exportTokenizer`) its tokenizer written as
    /// `tokenizer.json` + `tokenizer_config.json` (``ModelLoader/tokenizerFiles(gguf:template:)``).
    public let tokenizerFiles: [(name: String, bytes: [UInt8])]
}

/// Loads what `--model` names: a Hugging Face or LMKit model folder, a GGUF file, or `gemma` (the
/// Gemma 3 270M asset); optionally with a LoRA adapter folder (peft's layout) on top.
public enum ModelLoader {
    /// The files saved beside a model trained from a folder: tokenizer, its config (chat template,
    /// special tokens) and the generation defaults.
    public static let tokenizerFileNames = [
        "tokenizer.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model", "tokenizer_config.json",
        "special_tokens_map.json", "chat_template.jinja", "generation_config.json",
    ]

    /// Loads `path`. GGUF matrices stay quantized unless `keepQuantized` is false (float32, for full
    /// fine-tuning); `activations` applies to those kept quantized. `adapter` is a LoRA adapter
    /// folder: on a float model it is merged into the weights (no cost per token), on a quantized one
    /// it runs beside the quantized matrices. `exportTokenizer`: for a GGUF file, also write its
    /// tokenizer as files (``LoadedModel/tokenizerFiles``), for a model folder saved from it.
    public static func load(
        _ path: String, activations: QuantizedMatrix.Activations = .int8, keepQuantized: Bool = true, adapter: String? = nil,
        mergeAdapter: Bool = true, exportTokenizer: Bool = false, assets: AssetStore = AssetStore()
    ) throws -> LoadedModel {
        let model: any CausalLanguageModel, tokenizer: Tokenizer, template: ChatTemplate, name: String
        var files: [(String, [UInt8])] = []
        let isGGUF = path == "gemma" || path.lowercased().hasSuffix(".gguf")
        if isGGUF {
            let file = try GGUFFile(path: path == "gemma" ? try assets.path(.gemma) : path)
            model = try ModelRegistry.load(gguf: file, activations: activations, keepQuantized: keepQuantized)
            tokenizer = try Tokenizer.gguf(file)
            template = try ChatTemplate.forModel(gguf: file)
            if exportTokenizer { files = try tokenizerFiles(gguf: file, template: template) }
            name = path == "gemma" ? "gemma-3-270m" : ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        } else {
            model = try ModelRegistry.load(folder: path)
            tokenizer = try Tokenizer(contentsOf: path)
            guard tokenizer.vocabSize <= model.vocabSize else {
                throw ModelError("\(path): the tokenizer has \(tokenizer.vocabSize) tokens, the model \(model.vocabSize)")
            }
            template = try ChatTemplate.load(folder: path) ?? ChatTemplate.builtIn("plain")
            name = (path as NSString).lastPathComponent
            files = tokenizerFileNames.compactMap { n in FileManager.default.contents(atPath: path + "/" + n).map { (n, Array($0)) } }
        }
        var lora: LoRAAdapters? = nil
        if let adapter {
            guard let module = model as? Module else { throw ModelError("\(path): this model cannot carry a LoRA adapter") }
            lora = try LoRAAdapters(folder: adapter, attachingTo: module)
            module.eval()
            lora?.eval()
            if mergeAdapter, let l = lora, l.layers.allSatisfy({ $0.layer is Linear }) {
                try l.merge()
                lora = nil
            }
        }
        return LoadedModel(
            model: model, tokenizer: tokenizer, template: template, adapter: lora, name: name, isGGUF: isGGUF, tokenizerFiles: files)
    }

    /// A GGUF file's tokenizer as the files of a Hugging Face model folder: `tokenizer.json`
    /// (``Tokenizer/huggingFaceJSON(gguf:)``) and `tokenizer_config.json` with the special tokens,
    /// whether BOS/EOS are added, and `template` (the GGUF file's own, or the built-in one LMKit
    /// chats and fine-tunes with), so transformers and LMKit tokenize and render chats as LMKit did.
    public static func tokenizerFiles(gguf file: GGUFFile, template: ChatTemplate) throws -> [(name: String, bytes: [UInt8])] {
        let json = try Tokenizer.huggingFaceJSON(gguf: file)
        let tokens = file["tokenizer.ggml.tokens"]?.strings ?? []
        func token(_ key: String) -> String? {
            file["tokenizer.ggml.\(key)"]?.int.flatMap { tokens.indices.contains($0) ? tokens[$0] : nil }
        }
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": template.source, "clean_up_tokenization_spaces": false,
            "add_bos_token": file["tokenizer.ggml.add_bos_token"]?.bool ?? true,
            "add_eos_token": file["tokenizer.ggml.add_eos_token"]?.bool ?? false,
        ]
        if let n = file["\(file["general.architecture"]?.string ?? "").context_length"]?.int { config["model_max_length"] = n }
        for (key, id) in [
            ("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"), ("unk_token", "unknown_token_id"),
            ("pad_token", "padding_token_id"),
        ] {
            if let t = token(id) { config[key] = t }
        }
        let data = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return [("tokenizer.json", Array(json)), ("tokenizer_config.json", Array(data))]
    }

    /// `loaded` with its chat template replaced by `template`: a built-in family (gemma, llama3,
    /// chatml, mistral, plain) or a `.jinja` file, keeping the model's special tokens.
    public static func withTemplate(_ loaded: LoadedModel, _ template: String?) throws -> LoadedModel {
        guard let template else { return loaded }
        let own = loaded.template
        let replaced: ChatTemplate
        if template.hasSuffix(".jinja") {
            guard let text = FileManager.default.contents(atPath: template).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ModelError("--template \(template): cannot read the file as UTF-8 text")
            }
            replaced = try ChatTemplate(
                source: text, origin: template, bosToken: own.bosToken, eosToken: own.eosToken, stopSequences: own.stopSequences)
        } else {
            replaced = try ChatTemplate.builtIn(template, bosToken: own.bosToken, eosToken: own.eosToken)
        }
        return LoadedModel(
            model: loaded.model, tokenizer: loaded.tokenizer, template: replaced, adapter: loaded.adapter, name: loaded.name,
            isGGUF: loaded.isGGUF, tokenizerFiles: loaded.tokenizerFiles)
    }
}

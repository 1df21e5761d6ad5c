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
    /// Whether the model came from a GGUF file (its tokenizer has no files to copy).
    public let isGGUF: Bool
    /// The tokenizer and template files of a model folder, to save beside a model trained from it.
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
    /// it runs beside the quantized matrices.
    public static func load(
        _ path: String, activations: QuantizedMatrix.Activations = .int8, keepQuantized: Bool = true, adapter: String? = nil,
        mergeAdapter: Bool = true, assets: AssetStore = AssetStore()
    ) throws -> LoadedModel {
        let model: any CausalLanguageModel, tokenizer: Tokenizer, template: ChatTemplate, name: String
        var files: [(String, [UInt8])] = []
        let isGGUF = path == "gemma" || path.lowercased().hasSuffix(".gguf")
        if isGGUF {
            let file = try GGUFFile(path: path == "gemma" ? try assets.path(.gemma) : path)
            model = try ModelRegistry.load(gguf: file, activations: activations, keepQuantized: keepQuantized)
            tokenizer = try Tokenizer.gguf(file)
            template = try ChatTemplate.forModel(gguf: file)
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

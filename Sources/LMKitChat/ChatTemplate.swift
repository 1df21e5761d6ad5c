import Foundation
import LMKitTensor

/// One message of a conversation, as chat templates and the OpenAI API spell it.
public struct ChatMessage: Codable, Sendable, Equatable {
    /// `system`, `user` or `assistant`.
    public var role: String
    /// The text of the message, as the template writes it out.
    public var content: String

    /// A message from `role` (`system`, `user` or `assistant`) saying `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// How a model expects a conversation written out: a Jinja2 chat template, its special tokens, and
/// the texts that end the assistant's turn.
///
/// Templates come from where Hugging Face and llama.cpp keep them (`chat_template.jinja`,
/// `tokenizer_config.json`'s `chat_template`, GGUF `tokenizer.chat_template`), or are built in per
/// family for files that have none. Base (not instruction-tuned) models get the `plain` format, a
/// "User: … / Assistant: …" transcript under a short preamble, which a pretrained model continues
/// sensibly without having been taught any special format.
public struct ChatTemplate: Sendable {
    /// Where the template came from (`chat_template.jinja`, `GGUF metadata`, `built-in gemma`, …).
    public let origin: String
    /// The Jinja2 text of the template.
    public let source: String
    /// The text of the template's `bos_token` variable (nil: left undefined).
    public var bosToken: String?
    /// The text of the template's `eos_token` variable; generation also stops on it (nil: undefined).
    public var eosToken: String?
    /// Texts that end the assistant's turn besides the model's end-of-text token.
    public var stopSequences: [String]
    /// A system prompt used when the conversation has none (the `plain` format's preamble).
    public var defaultSystemPrompt: String?
    let template: JinjaTemplate

    /// Parses `source`; throws on a syntax error or a construct outside the supported Jinja subset.
    public init(
        source: String, origin: String, bosToken: String? = nil, eosToken: String? = nil,
        stopSequences: [String] = [], defaultSystemPrompt: String? = nil
    ) throws(TemplateError) {
        template = try JinjaTemplate(source)
        self.source = source
        self.origin = origin
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.stopSequences = stopSequences
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// The conversation as the model's prompt; with `addGenerationPrompt` it ends where the
    /// assistant's next reply begins.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, now: Date = Date()) throws(TemplateError) -> String {
        var context: [String: JinjaValue] = [
            "messages": .array(messages.map { .dict(JinjaDict([("role", .string($0.role)), ("content", .string($0.content))])) }),
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        return try template.render(context, now: now)
    }

    // MARK: Built-in templates

    /// The `plain` format's default system prompt: a description and two example exchanges, which
    /// show a base model the shape of an answer (few-shot prompting).
    public static let plainPreamble = """
        A conversation between a curious user and a helpful, knowledgeable assistant. The assistant answers \
        briefly, accurately and politely.

        User: What is the largest planet in the Solar System?
        Assistant: Jupiter is the largest planet in the Solar System.
        User: Who wrote Romeo and Juliet?
        Assistant: William Shakespeare wrote Romeo and Juliet.
        """

    /// The families with a built-in template.
    public static let families = ["gemma", "llama3", "chatml", "mistral", "plain"]

    /// The built-in template of `family` (one of ``families``).
    public static func builtIn(_ family: String, bosToken: String? = nil, eosToken: String? = nil) throws(TemplateError) -> ChatTemplate {
        let alternate = "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
        switch family {
        case "gemma":
            // Gemma 3's instruction format: no system role, its text goes before the first user turn.
            return try ChatTemplate(
                source: """
                    {{- bos_token -}}
                    {%- if messages and messages[0].role == 'system' -%}
                    {%- set prefix = (messages[0].content | trim) ~ '\\n\\n' -%}{%- set turns = messages[1:] -%}
                    {%- else -%}{%- set prefix = '' -%}{%- set turns = messages -%}{%- endif -%}
                    {%- for m in turns -%}
                    {%- if (m.role == 'user') != (loop.index0 % 2 == 0) -%}\(alternate){%- endif -%}
                    {{- '<start_of_turn>' ~ ('model' if m.role == 'assistant' else m.role) ~ '\\n' ~ (prefix if loop.first else '') ~ (m.content | trim) ~ '<end_of_turn>\\n' -}}
                    {%- endfor -%}
                    {%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}
                    """, origin: "built-in gemma", bosToken: bosToken ?? "<bos>", eosToken: eosToken, stopSequences: ["<end_of_turn>"])
        case "llama3":
            return try ChatTemplate(
                source: """
                    {{- bos_token -}}
                    {%- for m in messages -%}
                    {{- '<|start_header_id|>' ~ m.role ~ '<|end_header_id|>\\n\\n' ~ (m.content | trim) ~ '<|eot_id|>' -}}
                    {%- endfor -%}
                    {%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}
                    """, origin: "built-in llama3", bosToken: bosToken ?? "<|begin_of_text|>", eosToken: eosToken,
                stopSequences: ["<|eot_id|>"])
        case "chatml":
            return try ChatTemplate(
                source: """
                    {%- for m in messages -%}
                    {{- '<|im_start|>' ~ m.role ~ '\\n' ~ m.content ~ '<|im_end|>\\n' -}}
                    {%- endfor -%}
                    {%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}
                    """, origin: "built-in chatml", bosToken: bosToken, eosToken: eosToken, stopSequences: ["<|im_end|>"])
        case "mistral":
            return try ChatTemplate(
                source: """
                    {{- bos_token -}}
                    {%- if messages and messages[0].role == 'system' -%}
                    {%- set prefix = messages[0].content ~ '\\n\\n' -%}{%- set turns = messages[1:] -%}
                    {%- else -%}{%- set prefix = '' -%}{%- set turns = messages -%}{%- endif -%}
                    {%- for m in turns -%}
                    {%- if (m.role == 'user') != (loop.index0 % 2 == 0) -%}\(alternate){%- endif -%}
                    {%- if m.role == 'user' -%}{{- '[INST] ' ~ (prefix if loop.first else '') ~ m.content ~ ' [/INST]' -}}
                    {%- else -%}{{- ' ' ~ m.content ~ eos_token -}}{%- endif -%}
                    {%- endfor -%}
                    """, origin: "built-in mistral", bosToken: bosToken ?? "<s>", eosToken: eosToken ?? "</s>", stopSequences: ["[INST]"])
        case "plain":
            return try ChatTemplate(
                source: """
                    {{- bos_token if bos_token is defined else '' -}}
                    {%- for m in messages -%}
                    {%- if m.role == 'system' -%}{{- (m.content | trim) ~ '\\n\\n' -}}
                    {%- else -%}{{- ('User' if m.role == 'user' else 'Assistant') ~ ': ' ~ (m.content | trim) ~ '\\n' -}}
                    {%- endif -%}
                    {%- endfor -%}
                    {%- if add_generation_prompt -%}Assistant:{%- endif -%}
                    """, origin: "built-in plain (for base models)", bosToken: bosToken, eosToken: eosToken,
                stopSequences: ["\nUser:", "\nAssistant:", "\n\n\n"],
                defaultSystemPrompt: plainPreamble)
        default:
            throw TemplateError("no built-in chat template \"\(family)\" (built in: \(families.joined(separator: ", ")))")
        }
    }

    // MARK: From model files

    /// The template of a Hugging Face folder: `chat_template.jinja`, else `tokenizer_config.json`'s
    /// `chat_template` (a string, or a list of named templates: `default` is taken), with the
    /// config's `bos_token`/`eos_token`. Nil when the folder has none.
    public static func load(folder: String) throws(TemplateError) -> ChatTemplate? {
        let config =
            (try? Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer_config.json")))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        func token(_ key: String) -> String? {
            if let s = config[key] as? String { return s }
            return (config[key] as? [String: Any])?["content"] as? String
        }
        let (bos, eos) = (token("bos_token"), token("eos_token"))
        let stops = [eos].compactMap { $0 }
        if let data = FileManager.default.contents(atPath: folder + "/chat_template.jinja") {
            guard let text = String(data: data, encoding: .utf8) else {
                throw TemplateError("\(folder)/chat_template.jinja is not UTF-8 text")
            }
            return try ChatTemplate(source: text, origin: "chat_template.jinja", bosToken: bos, eosToken: eos, stopSequences: stops)
        }
        if let text = config["chat_template"] as? String {
            return try ChatTemplate(source: text, origin: "tokenizer_config.json", bosToken: bos, eosToken: eos, stopSequences: stops)
        }
        if let named = config["chat_template"] as? [[String: Any]] {
            guard let entry = named.first(where: { $0["name"] as? String == "default" }) ?? named.first,
                let text = entry["template"] as? String
            else { throw TemplateError("\(folder)/tokenizer_config.json: chat_template list has no usable template") }
            return try ChatTemplate(
                source: text, origin: "tokenizer_config.json (\(entry["name"] as? String ?? "first"))", bosToken: bos, eosToken: eos,
                stopSequences: stops)
        }
        return nil
    }

    /// The template a GGUF file carries (`tokenizer.chat_template`), with its BOS/EOS token texts.
    /// Nil when it has none.
    public static func load(gguf file: GGUFFile) throws(TemplateError) -> ChatTemplate? {
        guard let text = file["tokenizer.chat_template"]?.string else { return nil }
        let (bos, eos) = tokens(gguf: file)
        return try ChatTemplate(source: text, origin: "GGUF metadata", bosToken: bos, eosToken: eos, stopSequences: [eos].compactMap { $0 })
    }

    static func tokens(gguf file: GGUFFile) -> (bos: String?, eos: String?) {
        let tokens = file["tokenizer.ggml.tokens"]?.strings ?? []
        func token(_ key: String) -> String? { file[key]?.int.flatMap { tokens.indices.contains($0) ? tokens[$0] : nil } }
        return (token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id"))
    }

    /// What to use for a GGUF file: its own template; else the built-in one of its family when it is
    /// an instruction-tuned model (`general.finetune`/`general.name` say "it", "instruct" or "chat");
    /// else `plain`, since a base model knows no chat format.
    public static func forModel(gguf file: GGUFFile) throws(TemplateError) -> ChatTemplate {
        if let own = try load(gguf: file) { return own }
        let (bos, eos) = tokens(gguf: file)
        let name = ((file["general.finetune"]?.string ?? "") + " " + (file["general.name"]?.string ?? "")).lowercased()
        let tuned = name.split(whereSeparator: { !$0.isLetter }).contains { ["it", "instruct", "chat"].contains(String($0)) }
        guard tuned else { return try builtIn("plain", bosToken: bos, eosToken: eos) }
        switch file["general.architecture"]?.string ?? "" {
        case "gemma3", "gemma2", "gemma": return try builtIn("gemma", bosToken: bos, eosToken: eos)
        case "qwen2": return try builtIn("chatml", bosToken: bos, eosToken: eos)
        case "llama":
            return try builtIn(file["tokenizer.ggml.pre"]?.string == "llama-bpe" ? "llama3" : "mistral", bosToken: bos, eosToken: eos)
        default: return try builtIn("plain", bosToken: bos, eosToken: eos)
        }
    }
}

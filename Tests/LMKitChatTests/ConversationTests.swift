import Foundation
import LMKitAssets
@testable import LMKitChat
import LMKitGeneration
import LMKitModels
import LMKitTensor
import LMKitTokenizers
import Testing
import TestSupport

/// Built-in templates render the formats their families use; a conversation with the real Gemma
/// model (greedy) reuses its KV cache across turns without changing a single token of the replies,
/// drops the oldest turns when the window is full, and saves and loads.
@Suite struct ConversationTests {
    let messages = [
        ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
        ChatMessage(role: "assistant", content: " Hello! "), ChatMessage(role: "user", content: "Bye"),
    ]

    @Test func builtInTemplatesRenderTheirFamiliesFormats() throws {
        #expect(
            try ChatTemplate.builtIn("gemma").render(messages, addGenerationPrompt: true)
                == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        )
        #expect(
            try ChatTemplate.builtIn("llama3").render(Array(messages.prefix(2)), addGenerationPrompt: true)
                == "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        )
        #expect(
            try ChatTemplate.builtIn("chatml").render(Array(messages.prefix(2)), addGenerationPrompt: true)
                == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(
            try ChatTemplate.builtIn("mistral").render(Array(messages.prefix(3)), addGenerationPrompt: false)
                == "<s>[INST] Be brief.\n\nHi [/INST]  Hello! </s>")
        #expect(
            try ChatTemplate.builtIn("plain").render(messages, addGenerationPrompt: true)
                == "Be brief.\n\nUser: Hi\nAssistant: Hello!\nUser: Bye\nAssistant:")
        #expect(throws: TemplateError.self) {
            try ChatTemplate.builtIn("gemma").render([ChatMessage(role: "assistant", content: "x")], addGenerationPrompt: true)
        }
        #expect(throws: TemplateError.self) { try ChatTemplate.builtIn("nosuchfamily") }
    }

    @Test func gemmaConversationReusesTheCacheAndKeepsItsWindow() throws {
        guard TestAssets.available(.gemma) else { return }
        let file = try GGUFFile(path: try TestAssets.store.path(.gemma))
        let model = try ModelRegistry.load(gguf: file), tokenizer = try Tokenizer.gguf(file)
        let template = try ChatTemplate.forModel(gguf: file)
        #expect(template.origin.hasPrefix("built-in plain"))  // a base model: no chat format
        let greedy = SamplingOptions(temperature: 0)
        let chat = Conversation(model: model, tokenizer: tokenizer, template: template)
        let first = try chat.send("What is the capital of France?", maxTokens: 12, sampling: greedy)
        let second = try chat.send("And of Italy?", maxTokens: 12, sampling: greedy)
        #expect(first.reusedTokens == 0 && !first.text.isEmpty)
        // Everything up to the first reply's text comes from the cache.
        #expect(second.reusedTokens > first.promptTokens, "reused \(second.reusedTokens) of \(second.promptTokens)")
        // The same transcript from an empty cache gives the same reply.
        let fresh = Conversation(model: model, tokenizer: tokenizer, template: template)
        try fresh.restore(messages: Array(chat.messages.prefix(2)))
        let again = try fresh.send("And of Italy?", maxTokens: 12, sampling: greedy)
        #expect(again.text == second.text && again.reusedTokens == 0)

        // Save, load, continue.
        let folder = TemporaryFolder(prefix: "lmkit-chat")
        let path = folder.path + "/chat.json"
        try chat.save(to: path)
        let loaded = Conversation(model: model, tokenizer: tokenizer, template: template)
        try loaded.load(from: path)
        #expect(loaded.messages == chat.messages)

        // A small window: the oldest turns go, the system prompt stays.
        let small = Conversation(model: model, tokenizer: tokenizer, template: template, contextWindow: 90)
        var dropped = 0
        for question in ["Name a color.", "Name a fruit.", "Name an animal.", "Name a city."] {
            dropped += try small.send(question, maxTokens: 10, sampling: greedy).droppedMessages
        }
        #expect(dropped > 0 && small.transcript.first?.role == "system")
        #expect(small.messages.last?.role == "assistant" && small.messages.dropLast().last?.content == "Name a city.")
        #expect(throws: GenerationError.self) { try small.send(String(repeating: "word ", count: 200), maxTokens: 10, sampling: greedy) }

        // The summarize policy keeps what the dropped turns said, in the system prompt.
        let summarizing = Conversation(
            model: model, tokenizer: tokenizer, template: template, systemPrompt: "Answer briefly.", contextWindow: 90)
        summarizing.overflow = .summarize
        var summarized = 0
        for question in ["My name is Ada.", "I live in Paris.", "Name an animal.", "Name a color.", "Name a fruit.", "Name a city."] {
            summarized += try summarizing.send(question, maxTokens: 8, sampling: greedy).droppedMessages
        }
        #expect(summarized > 0 && summarizing.summary?.isEmpty == false)
        #expect(summarizing.transcript.first?.content.contains("Earlier in this conversation: ") == true)
    }
}

import Foundation
import LMKitAssets
import LMKitChat
import LMKitGeneration
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// A chatbot that remembers the conversation (study path: building a chatbot with a pre-trained
/// LLM, context retention).
struct ChatChapter: TourChapter {
    let name = "chat"
    let title = "A chatbot with memory: chat templates, KV-cache reuse, and a context window"

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi!")]
        c.say(
            """
            A chat model sees a conversation as one text, written in the format it was fine-tuned on: its
            chat template (a small Jinja2 program shipped with the model). The same two messages — a system
            prompt "Be brief." and "Hi!" — in three families' formats, ready for the assistant's reply:
            """)
        for family in ["llama3", "chatml", "gemma"] {
            let text = try ChatTemplate.builtIn(family).render(messages, addGenerationPrompt: true)
            c.say("    \(family):  \(text.debugDescription)")
        }
        let file = try GGUFFile(path: try c.assets.path(.gemma))
        let model = try ModelRegistry.load(gguf: file), tokenizer = try Tokenizer.gguf(file)
        let template = try ChatTemplate.forModel(gguf: file)
        c.say(
            """

            The Gemma asset is a base model: it was never taught a chat format, so LMKit writes the
            conversation as a plain transcript it can continue ("\(template.origin)"), after a short
            preamble with two example exchanges. What the model is given for the first question:

            \(try template.render((template.defaultSystemPrompt.map { [ChatMessage(role: "system", content: $0)] } ?? []) + [ChatMessage(role: "user", content: "What is the capital of France?")], addGenerationPrompt: true).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))

            1. Memory. The conversation keeps every turn and re-renders all of it for each reply; the KV
            cache already holds the keys and values of everything said before, so only the new tokens go
            through the model (greedy, so the replies are reproducible):
            """)
        let greedy = SamplingOptions(temperature: 0)
        let chat = Conversation(model: model, tokenizer: tokenizer, template: template)
        var reused: [Double] = []
        for question in ["What is the capital of France?", "And of Italy?", "What do bees make?"] {
            let r = try chat.send(question, maxTokens: c.quick ? 8 : 16, sampling: greedy)
            c.say("    user: \(question)\n    assistant:\(r.text)   (\(r.reusedTokens) of \(r.promptTokens) prompt tokens from the cache)")
            reused.append(Double(r.reusedTokens) / Double(r.promptTokens))
        }
        results["reused_fraction_last_turn"] = reused.last ?? 0

        c.say(
            """

            2. A full window. A model attends over a limited context; when the conversation no longer fits,
            something must go. Here the window is only 120 tokens: the oldest turns are dropped (the system
            prompt stays), and each reply says how many went. (`--overflow summarize` makes the model write
            a summary of them into the system prompt instead.)
            """)
        let small = Conversation(model: model, tokenizer: tokenizer, template: template, contextWindow: 120)
        var dropped = 0
        for question in ["Name a color.", "Name a fruit.", "Name an animal.", "Name a city.", "Name a planet."] {
            let r = try small.send(question, maxTokens: 8, sampling: greedy)
            dropped += r.droppedMessages
            c.say(
                "    user: \(question)  assistant:\(r.text)   (\(r.promptTokens) prompt tokens\(r.droppedMessages > 0 ? ", \(r.droppedMessages) oldest messages dropped" : ""))"
            )
        }
        results["dropped_messages"] = Double(dropped)
        c.say(
            """

              `lmkit chat` is this conversation in the terminal (/save, /load, /reset); `lmkit serve` puts it
              behind an OpenAI-compatible HTTP API with a chat page, conversations kept in SQLite.
            """)
        return results
    }
}

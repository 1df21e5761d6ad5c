import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitGeneration
import LMKitModels
import LMKitPlot
import LMKitTensor
import LMKitTokenizers

/// `lmkit chat`: a terminal conversation that remembers what was said.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a decoder in the terminal; the conversation is remembered and its KV cache reused.",
        discussion: """
            Type a message and press return; the reply streams as it is generated. Commands:
              /reset          forget the conversation (the system prompt stays)
              /system TEXT    set the system prompt
              /save FILE      write the conversation as JSON (atomically)
              /load FILE      continue a saved conversation
              /history        show the messages kept
              /quit           leave (end of input does too)

            --model: `gemma` (the Gemma 3 270M asset, the default), a GGUF file, or a Hugging Face folder.
            The chat format is the model's own chat template (chat_template.jinja, tokenizer_config.json or
            GGUF metadata), else --template, else a built-in one: gemma, llama3, chatml, mistral, or plain.
            A base model such as the Gemma asset (pretrained only, no chat template) gets `plain`: a short
            preamble and a "User: … / Assistant: …" transcript, which it continues as text; its answers are
            those of a 270M-parameter model that was never taught to chat.

            Each reply re-renders the whole conversation, and the tokens the KV cache already holds are
            not recomputed. When the conversation and --max-tokens no longer fit --context tokens, the
            oldest turns are dropped (--overflow drop-oldest) or summarized by the model into the system
            prompt (--overflow summarize); the system prompt always stays. Both are reported on stderr.

            --json prints one JSON object per line instead of streaming: for a message
              {"user": String, "reply": String, "promptTokens": Int, "reusedTokens": Int, "generatedTokens": Int,
               "finishReason": String, "droppedMessages": Int, "seconds": Double, "tokensPerSecond": Double}
            and for a command {"command": String, "ok": Bool, "detail": String}.
            """
    )

    @Option(help: "`gemma`, a GGUF file or a model folder.") var model = "gemma"
    @Option(help: "System prompt.") var system: String?
    @Option(help: "Chat format: a built-in family (gemma, llama3, chatml, mistral, plain) or a .jinja file.") var template: String?
    @Option(help: "Most tokens per reply.") var maxTokens = 200
    @Option(help: "Tokens the conversation may use (default: the model's context, at most 4096).") var context: Int?
    @Option(help: "When the window is full: drop-oldest or summarize.") var overflow: Conversation.OverflowPolicy = .dropOldest
    @Option(help: "0: greedy.") var temperature = 0.7
    @Option(help: "Keep the k most likely tokens (0: all).") var topK = 40
    @Option(help: "Nucleus sampling threshold.") var topP = 0.95
    @Option(help: "Penalty for tokens already in the text (1: off).") var repetitionPenalty = 1.1
    @Option var seed: UInt64 = 0
    @Option(help: "Activations in products with quantized weights: int8 or float32.") var activations: QuantizedMatrix.Activations = .int8
    @Option(help: "A LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as peft saves) to put on the model.")
    var adapter: String?
    @Option(help: "Start from a saved conversation.") var load: String?
    @Flag(help: "One JSON object per line (see above).") var json = false

    func run() throws {
        if let context, context < 16 { throw ValidationError("--context must be at least 16 tokens") }
        let loaded = try ModelLoader.withTemplate(try ModelLoader.load(model, activations: activations, adapter: adapter), template)
        let (lm, tokenizer, chatTemplate) = (loaded.model, loaded.tokenizer, loaded.template)
        let chat = Conversation(model: lm, tokenizer: tokenizer, template: chatTemplate, systemPrompt: system, contextWindow: context)
        chat.overflow = overflow
        if let load { try chat.load(from: load) }
        let sampling = SamplingOptions(temperature: temperature, topK: topK, topP: topP, repetitionPenalty: repetitionPenalty, seed: seed)
        try sampling.validate()
        let interactive = isatty(0) != 0
        if !json {
            printError(
                "chat format: \(chatTemplate.origin); window \(chat.contextWindow) tokens, oldest turns \(overflow == .summarize ? "summarized" : "dropped") when full. /help for commands."
            )
            if chatTemplate.origin.hasPrefix("built-in plain") {
                printError("(a base model: the conversation is written as a plain User:/Assistant: transcript for it to continue)")
            }
        }
        while true {
            if interactive && !json { writeStandardError("\nyou> ") }
            guard let line = readLine(strippingNewline: true) else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input.hasPrefix("/") {
                if input == "/quit" || input == "/exit" { break }
                let (ok, detail) = command(input, chat)
                if json {
                    try printJSON(CommandResult(command: String(input.split(separator: " ").first ?? ""), ok: ok, detail: detail))
                } else {
                    printError(detail)
                }
                continue
            }
            do {
                if !json && interactive { writeStandardOutput("assistant> ") }
                let reply = try chat.send(input, maxTokens: maxTokens, sampling: sampling) { text in if !json { writeStandardOutput(text) }
                }
                if json {
                    try printJSON(
                        TurnResult(
                            user: input, reply: reply.text, promptTokens: reply.promptTokens, reusedTokens: reply.reusedTokens,
                            generatedTokens: reply.generatedTokens, finishReason: reply.finishReason,
                            droppedMessages: reply.droppedMessages, seconds: reply.seconds, tokensPerSecond: reply.tokensPerSecond))
                } else {
                    writeStandardOutput("\n")
                    var note =
                        "(\(reply.generatedTokens) tokens, \(Format.fixed(reply.tokensPerSecond, 1)) tokens/s; \(reply.reusedTokens) of \(reply.promptTokens) prompt tokens from the cache"
                    if reply.droppedMessages > 0 {
                        note +=
                            "; \(reply.droppedMessages) oldest messages \(overflow == .summarize ? "summarized" : "dropped") to fit \(chat.contextWindow) tokens"
                    }
                    printError(note + ")")
                }
            } catch {
                if json {
                    try printJSON(CommandResult(command: "message", ok: false, detail: "\(error)"))
                } else {
                    printError("error: \(error)")
                }
            }
        }
    }

    struct TurnResult: Codable {
        let user: String, reply: String
        let promptTokens: Int, reusedTokens: Int, generatedTokens: Int
        let finishReason: String, droppedMessages: Int, seconds: Double, tokensPerSecond: Double
    }

    struct CommandResult: Codable { let command: String, ok: Bool, detail: String }

    /// Runs a /command; returns whether it worked and what to tell the user.
    func command(_ input: String, _ chat: Conversation) -> (Bool, String) {
        let parts = input.split(separator: " ", maxSplits: 1).map(String.init)
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch parts[0] {
        case "/reset":
            chat.reset()
            return (true, "conversation forgotten")
        case "/system":
            chat.systemPrompt = argument.isEmpty ? nil : argument
            return (true, argument.isEmpty ? "system prompt removed" : "system prompt set")
        case "/save":
            guard !argument.isEmpty else { return (false, "/save needs a file name") }
            do { try chat.save(to: argument); return (true, "saved \(chat.messages.count) messages to \(argument)") } catch {
                return (false, "\(error)")
            }
        case "/load":
            guard !argument.isEmpty else { return (false, "/load needs a file name") }
            do { try chat.load(from: argument); return (true, "loaded \(chat.messages.count) messages from \(argument)") } catch {
                return (false, "\(error)")
            }
        case "/history":
            return (true, chat.transcript.map { "\($0.role): \($0.content)" }.joined(separator: "\n"))
        case "/help":
            return (true, "/reset, /system TEXT, /save FILE, /load FILE, /history, /quit")
        default:
            return (false, "unknown command \(parts[0]) (/help lists them)")
        }
    }
}

extension Conversation.OverflowPolicy: ExpressibleByArgument {}

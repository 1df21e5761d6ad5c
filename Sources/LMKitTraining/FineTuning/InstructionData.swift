// Fine-tuning data in the layouts people already have (the ones TRL's SFTTrainer reads):
//   {"messages": [{"role": "user", "content": …}, {"role": "assistant", "content": …}]}   chat
//   {"prompt": …, "completion": …}                                                   prompt/completion
//   {"text": …}                                                                      plain text
// as JSON lines, or CSV/TSV with `prompt`,`completion` or `text` columns. Each example becomes token
// ids and a mask of the tokens the loss is computed on: by default only completions and assistant
// turns ("completion-only loss"), so the model learns to answer, not to write questions.
import Foundation
import LMKitChat
import LMKitEncoders
import LMKitTokenizers

/// One example as read from a file, before tokenization.
public struct InstructionExample: Sendable, Equatable {
    /// What the example holds.
    public enum Content: Sendable, Equatable {
        /// A conversation; assistant turns are trained on.
        case chat([ChatMessage])
        /// A prompt and its completion; the completion is trained on.
        case promptCompletion(prompt: String, completion: String)
        /// Text trained on whole.
        case text(String)
    }
    /// The example.
    public var content: Content
    /// `file:line` it came from, for errors.
    public var source: String

    /// An example read from `source`.
    public init(_ content: Content, source: String) { (self.content, self.source) = (content, source) }
}

/// Token ids of one example and, for each, whether the loss predicts it.
public struct TokenizedExample: Sendable, Equatable, Codable {
    /// The ids, special tokens included.
    public var ids: [Int]
    /// `trained[i]`: whether predicting `ids[i]` (from the ids before it) counts in the loss.
    public var trained: [Bool]
    /// `ids` with their mask; the two must have the same length.
    public init(ids: [Int], trained: [Bool]) {
        precondition(ids.count == trained.count, "\(ids.count) ids, \(trained.count) mask entries")
        (self.ids, self.trained) = (ids, trained)
    }
    /// Tokens the loss is computed on.
    public var trainedCount: Int { trained.dropFirst().filter { $0 }.count }
}

/// Reading and tokenizing fine-tuning examples.
public enum InstructionData {
    /// Reads the examples of a `.jsonl`, `.json` (an array of objects), `.csv` or `.tsv` file. Every
    /// line must be an object of one format; a bad line is an error naming the file and line.
    public static func read(_ path: String) throws(DataError) -> [InstructionExample] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path): cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError("\(path): not valid UTF-8 (byte \(ClassificationData.firstInvalidUTF8(data) ?? 0))")
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") {
            return try delimited(text, separator: lower.hasSuffix(".tsv") ? "\t" : ",", source: path)
        }
        if lower.hasSuffix(".json") {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw DataError("\(path): a .json file must hold an array of examples (or use JSON lines, .jsonl)")
            }
            return try array.enumerated().map { (i, v) throws(DataError) in try example(v, at: "\(path)[\(i)]") }
        }
        var out: [InstructionExample] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let place = "\(path):\(i + 1)"
            guard let value = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) else {
                throw DataError("\(place): not a JSON object")
            }
            out.append(try example(value, at: place))
        }
        guard !out.isEmpty else { throw DataError("\(path): no examples") }
        return out
    }

    /// One JSON object as an example.
    static func example(_ value: Any, at place: String) throws(DataError) -> InstructionExample {
        guard let object = value as? [String: Any] else { throw DataError("\(place): not a JSON object") }
        func string(_ key: String) throws(DataError) -> String? {
            guard let v = object[key] else { return nil }
            guard let s = v as? String else { throw DataError("\(place): \"\(key)\" is not a string") }
            return s
        }
        if let messages = object["messages"] ?? object["conversations"] {
            guard let list = messages as? [[String: Any]], !list.isEmpty else {
                throw DataError("\(place): \"messages\" must be a non-empty array of {\"role\", \"content\"} objects")
            }
            var out: [ChatMessage] = []
            for (i, m) in list.enumerated() {
                guard let role = (m["role"] ?? m["from"]) as? String, let content = (m["content"] ?? m["value"]) as? String else {
                    throw DataError("\(place): message \(i) needs string \"role\" and \"content\"")
                }
                // ShareGPT spells roles human/gpt.
                let normalized = ["human": "user", "gpt": "assistant"][role] ?? role
                guard ["system", "user", "assistant"].contains(normalized) else {
                    throw DataError("\(place): message \(i) has role \"\(role)\" (system, user or assistant)")
                }
                out.append(ChatMessage(role: normalized, content: content))
            }
            guard out.contains(where: { $0.role == "assistant" }) else { throw DataError("\(place): no assistant message to train on") }
            return InstructionExample(.chat(out), source: place)
        }
        if let prompt = try string("prompt") {
            guard let completion = try string("completion") else { throw DataError("\(place): \"prompt\" without \"completion\"") }
            return InstructionExample(.promptCompletion(prompt: prompt, completion: completion), source: place)
        }
        if let text = try string("text") { return InstructionExample(.text(text), source: place) }
        throw DataError(
            "\(place): no \"messages\", \"prompt\"/\"completion\" or \"text\" (keys: \(object.keys.sorted().joined(separator: ", ")))")
    }

    static func delimited(_ text: String, separator: Character, source: String) throws(DataError) -> [InstructionExample] {
        let records = try ClassificationData.parseDelimited(text, separator: separator, source: source)
        guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces) }) else {
            throw DataError("\(source): empty file")
        }
        let prompt = header.firstIndex(of: "prompt"), completion = header.firstIndex(of: "completion"),
            plain = header.firstIndex(of: "text")
        guard (prompt != nil && completion != nil) || plain != nil else {
            throw DataError(
                "\(source): the header needs \"prompt\" and \"completion\" columns, or \"text\" (it has: \(header.joined(separator: ", ")))"
            )
        }
        var out: [InstructionExample] = []
        for record in records.dropFirst() {
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }
            let place = "\(source):\(record.line)"
            guard record.fields.count == header.count else {
                throw DataError("\(place): \(record.fields.count) fields where the header has \(header.count)")
            }
            if let p = prompt, let c = completion {
                out.append(InstructionExample(.promptCompletion(prompt: record.fields[p], completion: record.fields[c]), source: place))
            } else if let t = plain {
                out.append(InstructionExample(.text(record.fields[t]), source: place))
            }
        }
        guard !out.isEmpty else { throw DataError("\(source): no examples") }
        return out
    }
}

/// Turns examples into ids and loss masks for one model: chat examples through its chat template,
/// the others as its tokenizer encodes text (with the beginning-of-sequence token it adds), each
/// completion or text ended by the end-of-sequence token.
public struct InstructionTokenizer {
    /// The model's tokenizer.
    public let tokenizer: Tokenizer
    /// The model's chat template (chat examples need one).
    public let template: ChatTemplate?
    /// The id that ends a completion or text (nil: none is added).
    public let endOfSequence: Int?
    /// Train on every token (prompts, user turns, template text) instead of completions only.
    public var trainOnPrompt = false

    /// A tokenizer for a model with `tokenizer`, `template` and end-of-sequence id `endOfSequence`.
    public init(tokenizer: Tokenizer, template: ChatTemplate?, endOfSequence: Int?) {
        (self.tokenizer, self.template, self.endOfSequence) = (tokenizer, template, endOfSequence)
    }

    /// Ids and mask of one example.
    public func tokenize(_ example: InstructionExample) throws(DataError) -> TokenizedExample {
        var ids: [Int] = [], trained: [Bool] = []
        func append(_ text: String, _ train: Bool, addSpecial: Bool = false) throws(DataError) {
            guard !text.isEmpty else { return }
            let piece: [Int]
            do { piece = try tokenizer.encode(text, options: .init(addSpecialTokens: addSpecial, specialTokens: .allow)).ids } catch {
                throw DataError("\(example.source): \(error.description)")
            }
            ids += piece
            trained += Array(repeating: train || trainOnPrompt, count: piece.count)
        }
        func appendEnd() {
            guard let endOfSequence else { return }
            ids.append(endOfSequence); trained.append(true)
        }
        switch example.content {
        case .text(let text):
            try append(text, true, addSpecial: true)
            appendEnd()
        case .promptCompletion(let prompt, let completion):
            try append(prompt, false, addSpecial: true)
            try append(completion, true)
            appendEnd()
        case .chat(var messages):
            // As `lmkit chat` sends them: the template's default system prompt (a base model's preamble)
            // when the example has none.
            if let preamble = template?.defaultSystemPrompt, !messages.contains(where: { $0.role == "system" }) {
                messages.insert(ChatMessage(role: "system", content: preamble), at: 0)
            }
            for (text, train) in try chatSegments(messages, source: example.source) { try append(text, train) }
            // A template without an end-of-turn token (the plain one) ends the reply here: the model
            // learns to stop after answering.
            if messages.last?.role == "assistant", let eos = endOfSequence, let spelling = tokenizer.token(of: eos),
                let text = try? template?.render(messages, addGenerationPrompt: false, now: Date(timeIntervalSince1970: 0)),
                !text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(spelling),
                template?.stopSequences.contains(where: { text.trimmingCharacters(in: .newlines).hasSuffix($0) }) != true
            {
                appendEnd()
            }
        }
        return TokenizedExample(ids: ids, trained: trained)
    }

    /// The rendered conversation cut into pieces, each trained on (an assistant turn, with the
    /// template's end-of-turn text) or not. Each assistant turn is found by rendering the messages
    /// before it with the generation prompt and the messages up to it: the template must render a
    /// conversation as the concatenation of its turns (templates that rewrite earlier turns, such as
    /// those dropping past reasoning, are refused).
    func chatSegments(_ messages: [ChatMessage], source: String) throws(DataError) -> [(String, Bool)] {
        guard let template else { throw DataError("\(source): a chat example needs a model with a chat template (or pass --template)") }
        func render(_ m: ArraySlice<ChatMessage>, _ generationPrompt: Bool) throws(DataError) -> [UInt8] {
            do {
                return Array(try template.render(Array(m), addGenerationPrompt: generationPrompt, now: Date(timeIntervalSince1970: 0)).utf8)
            } catch {
                throw DataError("\(source): the chat template failed: \(error.description)")
            }
        }
        let full = try render(messages[...], false)
        var segments: [(String, Bool)] = []
        var done = 0
        for (i, m) in messages.enumerated() where m.role == "assistant" {
            let before = try render(messages[..<i], true), through = try render(messages[...i], false)
            guard before.count >= done, through.starts(with: before), full.starts(with: through) else {
                throw DataError(
                    "\(source): the chat template (\(template.origin)) does not render this conversation turn by turn, so the assistant turns cannot be found; use --train-on-prompt"
                )
            }
            segments.append((String(decoding: full[done..<before.count], as: UTF8.self), false))
            segments.append((String(decoding: full[before.count..<through.count], as: UTF8.self), true))
            done = through.count
        }
        segments.append((String(decoding: full[done...], as: UTF8.self), false))
        return segments
    }
}

import Foundation
import LMKitChat
import LMKitEncoders
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers
import LMKitTraining
import Testing
import TestSupport

/// Fine-tuning examples: the three layouts read from JSONL, JSON and CSV, bad lines named by file
/// and line, and completion-only loss masks (what is trained decodes to exactly the completions and
/// assistant turns; prompts carry no gradient).
@Suite struct FineTuningDataTests {
    let folder = TemporaryFolder(prefix: "lmkit-ft-data")

    func write(_ name: String, _ text: String) throws -> String {
        let path = folder.path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func tokenizer() throws -> Tokenizer { try Tokenizer(contentsOf: fixturePath("tokenizers/llama3-style/tokenizer.json")) }

    @Test func readsTheThreeLayouts() throws {
        let jsonl = try write(
            "data.jsonl",
            """
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]}

            {"prompt": "2+2=", "completion": "4"}
            {"text": "plain text"}
            {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}
            """)
        let examples = try InstructionData.read(jsonl)
        #expect(examples.count == 4)
        #expect(
            examples[0].content
                == .chat([
                    .init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi?"),
                    .init(role: "assistant", content: "Hello."),
                ]))
        #expect(examples[1].content == .promptCompletion(prompt: "2+2=", completion: "4") && examples[1].source.hasSuffix("data.jsonl:3"))
        #expect(examples[2].content == .text("plain text"))
        #expect(examples[3].content == .chat([.init(role: "user", content: "Q"), .init(role: "assistant", content: "A")]))
        let csv = try write("data.csv", "prompt,completion\n\"a, b\",c\n\"multi\nline\",d\n")
        #expect(
            try InstructionData.read(csv).map(\.content) == [
                .promptCompletion(prompt: "a, b", completion: "c"), .promptCompletion(prompt: "multi\nline", completion: "d"),
            ])
        let json = try write("data.json", #"[{"text": "x"}, {"prompt": "p", "completion": "q"}]"#)
        #expect(try InstructionData.read(json).count == 2)
    }

    @Test func badLinesAreNamedByFileAndLine() throws {
        let cases: [(String, String)] = [
            ("{\"text\": \"ok\"}\n{not json}\n", "bad.jsonl:2: not a JSON object"),
            ("{\"prompt\": \"p\"}\n", "bad.jsonl:1: \"prompt\" without \"completion\""),
            ("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n", "bad.jsonl:1: no assistant message"),
            ("{\"messages\": [{\"role\": \"robot\", \"content\": \"q\"}]}\n", "role \"robot\""),
            ("{\"text\": 3}\n", "bad.jsonl:1: \"text\" is not a string"),
            ("{\"label\": \"x\"}\n", "no \"messages\", \"prompt\"/\"completion\" or \"text\""),
            ("\n\n", "no examples"),
        ]
        for (text, message) in cases {
            let path = try write("bad.jsonl", text)
            let error = #expect(throws: DataError.self) { try InstructionData.read(path) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "no error") should contain \(message)")
        }
        let invalid = folder.path + "/invalid.jsonl"
        try Data([0x7B, 0xFF, 0x7D]).write(to: URL(fileURLWithPath: invalid))
        #expect(throws: DataError.self) { try InstructionData.read(invalid) }
        let csv = try write("bad.csv", "question,answer\nq,a\n")
        let error = #expect(throws: DataError.self) { try InstructionData.read(csv) }
        #expect(error?.description.contains("\"prompt\" and \"completion\"") == true)
    }

    /// The trained tokens of a chat decode to the assistant turns with the template's end of turn;
    /// a prompt/completion trains on the completion and the end-of-text id; --train-on-prompt on all.
    @Test func completionOnlyMasks() throws {
        let tokenizer = try Self.tokenizer()
        let template = try ChatTemplate.builtIn("llama3")
        let eos = try #require(tokenizer.id(of: "<|end_of_text|>"))
        var t = InstructionTokenizer(tokenizer: tokenizer, template: template, endOfSequence: eos)
        let chat = InstructionExample(
            .chat([
                .init(role: "user", content: "Who wrote it?"), .init(role: "assistant", content: "Shakespeare did."),
                .init(role: "user", content: "When?"), .init(role: "assistant", content: "Around 1600."),
            ]), source: "test")
        let e = try t.tokenize(chat)
        let full = try template.render(
            [
                .init(role: "user", content: "Who wrote it?"), .init(role: "assistant", content: "Shakespeare did."),
                .init(role: "user", content: "When?"), .init(role: "assistant", content: "Around 1600."),
            ], addGenerationPrompt: false)
        #expect(try tokenizer.decode(e.ids, skipSpecialTokens: false) == full, "the pieces join into the whole rendering")
        let trained = e.ids.enumerated().filter { e.trained[$0.offset] }.map(\.element)
        #expect(try tokenizer.decode(trained, skipSpecialTokens: false) == "Shakespeare did.<|eot_id|>Around 1600.<|eot_id|>")

        let pc = try t.tokenize(InstructionExample(.promptCompletion(prompt: "Q: 2+2?\nA:", completion: " 4"), source: "test"))
        #expect(pc.ids.first == tokenizer.id(of: "<|begin_of_text|>"), "the tokenizer's beginning of text")
        #expect(pc.ids.last == eos && pc.trained.last == true)
        let completion = pc.ids.enumerated().filter { pc.trained[$0.offset] }.map(\.element)
        #expect(try tokenizer.decode(completion, skipSpecialTokens: false) == " 4<|end_of_text|>")

        t.trainOnPrompt = true
        #expect(try t.tokenize(chat).trained.allSatisfy { $0 })
    }

    /// Prompt tokens carry no gradient: in a padded batch, the loss's gradient with respect to the
    /// logits is exactly zero at every position whose next token is prompt or padding, and not zero
    /// at the trained ones.
    @Test func promptTokensCarryNoGradient() throws {
        let tokenizer = try Self.tokenizer()
        let t = InstructionTokenizer(tokenizer: tokenizer, template: try ChatTemplate.builtIn("llama3"), endOfSequence: 1)
        let examples = try [
            InstructionExample(.promptCompletion(prompt: "The question is long, so long.", completion: " Yes."), source: "a"),
            InstructionExample(.chat([.init(role: "user", content: "Hi"), .init(role: "assistant", content: "Hello there")]), source: "b"),
        ].map { try t.tokenize($0) }
        let data = InstructionBatches(train: examples, validation: examples)
        var cursor = DataCursor(seed: 1)
        let batch = data.trainingBatch(size: 2, context: 256, cursor: &cursor)
        var config = LlamaConfig()
        (config.vocabSize, config.width, config.layers, config.heads, config.kvHeads, config.headSize, config.intermediateSize) =
            (tokenizer.vocabSize, 16, 1, 2, 1, 8, 32)
        let model = try LlamaForCausalLM(config, seed: 2)
        let logits = GradMode.withoutGradient { model(batch.inputs) }.requiringGradient()
        logits.crossEntropy(targets: batch.targets).backward()
        let g = try #require(logits.gradient)
        let (b, tLength, v) = (g.shape[0], g.shape[1], g.shape[2])
        let grads = g.scalars(as: Float.self), targets = batch.targets.indexValues
        var scored = 0
        for row in 0..<(b * tLength) {
            let largest = (0..<v).map { abs(grads[row * v + $0]) }.max() ?? 0
            if targets[row] == -100 {
                #expect(largest == 0, "position \(row) is not trained but has gradient \(largest)")
            } else {
                #expect(largest > 0); scored += 1
            }
        }
        #expect(
            scored == batch.scoredTokens && scored == examples.reduce(0) { $0 + $1.trainedCount },
            "\(scored) \(batch.scoredTokens) \(examples.map(\.trainedCount)) \(examples.map(\.trained))")
        #expect(scored < b * tLength / 2, "most positions are prompt or padding here")
    }

    /// Epochs visit every example once in a shuffled order, and a cursor restored mid-epoch draws
    /// the same batches.
    @Test func epochsShuffleAndResume() throws {
        let examples = (0..<10).map { TokenizedExample(ids: [$0, $0 + 1, $0 + 2], trained: [false, true, true]) }
        let data = InstructionBatches(train: examples, validation: examples)
        var cursor = DataCursor(seed: 5)
        var seen: [Int] = []
        for _ in 0..<5 {
            seen += data.trainingBatch(size: 2, context: 8, cursor: &cursor).inputs.indexValues.enumerated().filter { $0.offset % 2 == 0 }
                .map(\.element)
        }
        #expect(Set(seen) == Set(0..<10) && seen != Array(0..<10), "one shuffled epoch: \(seen)")
        #expect(cursor.epoch == 0 && cursor.position == 10)
        var copy = cursor
        let next = data.trainingBatch(size: 3, context: 8, cursor: &cursor)
        #expect(cursor.epoch == 1 && data.trainingBatch(size: 3, context: 8, cursor: &copy).inputs.indexValues == next.inputs.indexValues)
        let fitted = InstructionBatches.fit(
            [
                TokenizedExample(ids: Array(0..<10), trained: Array(repeating: false, count: 5) + Array(repeating: true, count: 5)),
                TokenizedExample(ids: [1, 2, 3], trained: [true, false, false]),
            ], context: 4)
        #expect(fitted.truncated == 1 && fitted.dropped == 2 && fitted.kept.isEmpty)
    }
}

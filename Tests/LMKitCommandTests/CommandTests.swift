import Foundation
import Testing
import TestSupport

/// `lmkit` as a user runs it: the built executable, its output and exit status.
@Suite(.serialized) struct CommandTests {
    /// The `lmkit` executable next to the test bundle.
    static let executable: URL = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = bundle.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("lmkit")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "lmkit")
    }()

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    func lmkit(_ arguments: String...) throws -> Run { try lmkit(arguments: arguments) }

    func lmkit(arguments: [String], input: String? = nil) throws -> Run { try run(Self.executable, arguments, input: input) }

    /// Runs `executable` (`lmkit`, or a Python check script's interpreter) to its end.
    func run(_ executable: URL, _ arguments: [String], input: String? = nil) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// `lmkit chat` with the Gemma asset, input piped: replies, the KV cache reused on the second
    /// turn, /save, /reset, /load, an unknown command, and --json lines as its help documents.
    @Test func chatRemembersSavesAndLoads() throws {
        guard TestAssets.available(.gemma) else { return }
        let folder = TemporaryFolder(prefix: "lmkit-chat")
        let saved = folder.path + "/chat.json"
        let r = try lmkit(
            arguments: ["chat", "--json", "--temperature", "0", "--max-tokens", "8"],
            input: "What is the capital of France?\nAnd of Italy?\n/save \(saved)\n/reset\n/load \(saved)\n/bogus\nThanks!\n")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try r.stdout.split(separator: "\n").map { try json(String($0)) }
        let turns = lines.filter { $0["user"] != nil }, commands = lines.filter { $0["command"] != nil }
        #expect(turns.count == 3)
        #expect((turns.first?["reply"] as? String)?.contains("Paris") == true, "\(turns.first ?? [:])")
        if turns.count == 3 {
            #expect((turns[1]["reusedTokens"] as? Int ?? 0) > (turns[0]["promptTokens"] as? Int ?? .max))
            #expect(turns[2]["reusedTokens"] as? Int == 0)  // /reset emptied the cache; /load restored the messages
        }
        #expect(commands.map { $0["ok"] as? Bool } == [true, true, true, false])
        let file = try json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: saved)), as: UTF8.self))
        #expect((file["messages"] as? [Any])?.count == 4)
        #expect(try lmkit("chat", "--help").stdout.contains("\"reusedTokens\""))
    }

    /// The official `openai` Python client (pinned, in its own small venv) against `lmkit serve` with the Gemma asset
    /// (`Tools/check/openai_client.py`): models, chat completions streaming and not (the same text),
    /// a text completion, embeddings, and the errors it raises as its own exceptions (404 unknown
    /// model, 400 max_tokens 0, 401 wrong key). Runs where the reference venv exists.
    @Test func openAIClientTalksToTheServer() throws {
        guard TestAssets.available(.gemma) else { return }
        let folder = TemporaryFolder(prefix: "lmkit-openai")
        // The small venv `make test` prepares (scripts/client-venv: openai pinned in Tools/requirements-client.txt).
        let home = ProcessInfo.processInfo.environment["LMKIT_HOME"] ?? (NSHomeDirectory() + "/.cache/lmkit")
        let python = home + "/venv-client/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("◇ SKIPPED: openai client against lmkit serve: no \(python) (scripts/client-venv makes it)")
            return
        }
        let check = try run(
            URL(fileURLWithPath: python),
            [fixturePath("../../Tools/check/openai_client.py"), Self.executable.path, folder.path + "/db.sqlite"])
        #expect(check.status == 0, "\(check.stderr)")
        let seen = try json(check.stdout)
        #expect(seen["unknown_model"] as? Int == 404 && seen["max_tokens_0"] as? Int == 400 && seen["wrong_key"] as? Int == 401)
        #expect((seen["chat"] as? String)?.isEmpty == false)
    }

    @Test func helpListsTheWorkingCommands() throws {
        let r = try lmkit("--help")
        #expect(r.status == 0)
        for command in [
            "tour", "tokenize", "tokenizer", "embed", "classify", "fill-mask", "attention", "finetune", "train", "generate", "chat",
            "serve", "inspect", "eval", "bench", "assets",
        ] { #expect(r.stdout.contains(command)) }
    }

    @Test func unknownChapterIsAClearError() throws {
        let r = try lmkit("tour", "--chapter", "nonsense")
        #expect(r.status != 0)
        #expect(r.stderr.contains("no chapter named 'nonsense'"))
        #expect(r.stderr.contains("tensors"))
    }

    @Test func tourListsChapters() throws {
        let r = try lmkit("tour", "--list")
        #expect(r.status == 0 && r.stdout.hasPrefix("tokenizers\t"))
        #expect(r.stdout.contains("\ntensors\t") && r.stdout.contains("\nembeddings\t") && r.stdout.contains("\ngpt\t"))
    }

    @Test func tensorsChapterTrainsAndReportsJSON() throws {
        let r = try lmkit("tour", "--chapter", "tensors", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        #expect(try #require(results["spiral_accuracy"]) > 0.95)
        #expect(try #require(results["spiral_final_loss"]) < 0.1 * results["spiral_initial_loss"]!)
        if TestAssets.available(.shakespeare) {
            // A bigram model of Shakespeare's characters ends near 2.5 nats from ln(84) ≈ 4.43.
            #expect(try #require(results["bigram_initial_loss"]) > 4.3)
            #expect(try #require(results["bigram_final_loss"]) < 2.7)
        }
    }

    /// The optimization chapter (quick): its table's rows measured against the float32 model.
    @Test func optimizationChapterReportsTheTradeOffTable() throws {
        guard TestAssets.available(.shakespeare) else { return }
        let r = try lmkit("tour", "--chapter", "optimization", "--quick", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        let q8 = try #require(results["q8_0_kld"]), q4 = try #require(results["q4_0_kld"])
        #expect(q8 >= 0 && q8 < 0.01 && q8 < q4, "KLD Q8_0 \(q8), Q4_0 \(q4)")
        #expect(try #require(results["int8_dynamic_kld"]) < 0.02)
        #expect(try #require(results["q4_0_bytes"]) < 0.3 * (try #require(results["float32_bytes"])))
        for key in ["float32", "student_distilled", "student_text_only", "wanda_50", "magnitude_50", "q5_0"] {
            let value = try #require(results[key + "_perplexity"], "\(key)")
            #expect(value > 1 && value.isFinite, "\(key) \(value)")
        }
    }

    @Test func embeddingsChapterReportsGloVeResults() throws {
        guard TestAssets.available(.glove), TestAssets.available(.gensimData) else { return }
        let r = try lmkit("tour", "--chapter", "embeddings", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let chapters = try #require(try json(r.stdout)["chapters"] as? [[String: Any]])
        let results = try #require(chapters.first?["results"] as? [String: Double])
        #expect(Swift.abs(try #require(results["similarity_king_queen"]) - 0.7839043) < 1e-6)
        #expect(Swift.abs(try #require(results["analogy_accuracy"]) - 7393.0 / 14877.0) < 1e-9)  // gensim's score
    }

    @Test func assetsReportsJSON() throws {
        let r = try lmkit("assets", "--json")
        #expect(r.status == 0)
        let assets = try #require(try json(r.stdout)["assets"] as? [[String: Any]])
        #expect(
            assets.map { $0["name"] as? String } == [
                "gpt2", "minilm", "gemma", "glove", "gensim-data", "shakespeare", "punkt", "llama-cpp",
            ])
    }

    @Test func embedCommandsOnTheGloVeVectors() throws {
        guard TestAssets.available(.glove) else { return }
        let similarity = try lmkit("embed", "similarity", "king", "queen")
        #expect(similarity.status == 0 && similarity.stdout == "0.7839\n", "\(similarity.stdout) \(similarity.stderr)")
        let value = try #require(try json(try lmkit("embed", "similarity", "king", "queen", "--json").stdout)["similarity"] as? Double)
        #expect(Swift.abs(value - 0.7839043) < 1e-6)
        let analogy = try lmkit("embed", "analogy", "king", "man", "woman", "--json", "-n", "3")
        let answers = try #require(try JSONSerialization.jsonObject(with: Data(analogy.stdout.utf8)) as? [[String: Any]])
        #expect(answers.count == 3 && answers.first?["word"] as? String == "queen")
        let similar = try lmkit("embed", "similar", "frog", "-n", "2")
        #expect(similar.status == 0 && similar.stdout.hasPrefix("snake"))
        let unknown = try lmkit("embed", "similarity", "King", "queen")
        #expect(unknown.status != 0 && unknown.stderr.contains("'King' is not in the vocabulary") && unknown.stderr.contains("'king'"))
        let odd = try lmkit("embed", "doesnt-match", "breakfast", "cereal", "dinner", "lunch", "--json")
        #expect(try json(odd.stdout)["word"] as? String == "cereal")
    }

    @Test func embedTrainThenQueryThenPlot() throws {
        var lines: [String] = []
        for i in 0..<400 { lines.append(i % 2 == 0 ? "cat dog pet fur paw cat dog" : "car bus road wheel car bus road") }
        let corpus = NSTemporaryDirectory() + "lmkit-cli-corpus-\(getpid()).txt"
        let vectors = NSTemporaryDirectory() + "lmkit-cli-vectors-\(getpid()).txt"
        let picture = NSTemporaryDirectory() + "lmkit-cli-plot-\(getpid()).svg"
        defer { for f in [corpus, vectors, picture] { try? FileManager.default.removeItem(atPath: f) } }
        FileManager.default.createFile(atPath: corpus, contents: Data(lines.joined(separator: "\n").utf8))
        let train = try lmkit("embed", "train", corpus, "--out", vectors, "--dim", "16", "--epochs", "3", "--sample", "0", "--json")
        #expect(train.status == 0, "\(train.stderr)")
        let report = try json(train.stdout)
        #expect(report["vocabulary"] as? Int == 9 && report["words"] as? Int == 2800)
        let near = try lmkit("embed", "similar", "cat", "--vectors", vectors, "-n", "1", "--json")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(near.stdout.utf8)) as? [[String: Any]]).first
        #expect(["dog", "pet", "fur", "paw"].contains(first?["word"] as? String ?? ""), "\(near.stdout)")
        let plot = try lmkit("embed", "plot", "cat", "dog", "car", "bus", "--vectors", vectors, "--out", picture, "--pairs")
        #expect(plot.status == 0)
        let svg = try String(contentsOfFile: picture, encoding: .utf8)
        #expect(svg.contains(">bus</text>"))
        if TestAssets.available(.gensimData) {
            // `embed evaluate VECTORS`: the tiny vocabulary leaves every WordSim pair out of vocabulary.
            let evaluation = try lmkit("embed", "evaluate", vectors, "--json")
            #expect(evaluation.status != 0 && evaluation.stderr.contains("fewer than 3 usable word pairs"), "\(evaluation.stderr)")
        }
        let glove = try lmkit("embed", "train", corpus, "--out", vectors, "--method", "glove", "--dim", "8", "--epochs", "5", "--json")
        #expect(glove.status == 0, "\(glove.stderr)")
        let gloveReport = try json(glove.stdout)
        #expect(gloveReport["epochs"] as? Int == 5)
        #expect(try lmkit("embed", "train", corpus, "--out", vectors, "--method", "glove2").status != 0)
    }

    @Test func embedReadsOtherFormatsAndRejectsBadOnes() throws {
        let fixture = fixturePath("embeddings/glove300.w2v.bin")
        let r = try lmkit("embed", "similar", "the", "-n", "1", "--vectors", fixture, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let npy = try lmkit("embed", "similar", "the", "--vectors", fixturePath("embeddings/glove300.npy"))
        #expect(npy.status != 0 && npy.stderr.contains("--words"))
        let missing = try lmkit("embed", "similarity", "a", "b", "--vectors", "/nonexistent/vectors.bin")
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/vectors.bin"))
        let format = try lmkit("embed", "similarity", "a", "b", "--vectors", fixture, "--format", "xml")
        #expect(format.status != 0 && format.stderr.contains("--format"))
    }

    @Test func engineBenchmarkPrintsOneJSONLinePerMeasurement() throws {
        let r = try lmkit("bench", "engine", "--quick", "--json", "--repeats", "1")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 9)  // 2 products, 6 element-wise kernels, 1 block training step
        for line in lines {
            let row = try json(String(line))
            for key in ["name", "unit", "lmkit", "reference", "ratio"] { #expect(row[key] != nil, "\(key) missing in \(line)") }
        }
        #expect(try lmkit("bench", "engine", "--repeats", "0").status != 0)
    }
}

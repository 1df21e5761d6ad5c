import Foundation
import LMKitModels
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Testing
import TestSupport

/// `lmkit serve` over loopback: conversations that survive a restart and a streamed conversation reply
/// (a tiny Llama folder), and with the Gemma asset, whose generation is slow enough to interrupt: the
/// page, metrics, CORS, a client that disconnects mid-stream stopping its generation, and the page in a
/// real browser. The response shapes and errors are checked in process by `LMKitServerTests`; the
/// official openai client and the bad-input suite are in CommandTests.openAIClientTalksToTheServer and
/// benchmarks/server.
@Suite(.serialized) struct ServeTests {
    final class Server {
        let process = Process()
        let port: Int
        let log: String

        init(database: String, extra: [String] = []) throws {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
            }
            port = Int(UInt16(bigEndian: address.sin_port))
            close(s)
            log = database + ".log"
            FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = CommandTests.executable
            process.arguments = ["serve", "--port", String(port), "--database", database] + extra
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if let (status, _) = try? ServeTests.call(port, "GET", "/health"), status == 200 { return }
                Thread.sleep(forTimeInterval: 0.2)
            }
            throw TestError(
                "the server did not answer /health: \(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self))"
            )
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    struct TestError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    /// A blocking HTTP call: status and body.
    static func call(_ port: Int, _ method: String, _ path: String, _ body: [String: Any]? = nil, headers: [String: String] = [:]) throws
        -> (Int, Data)
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 120
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body);
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, Data)?
        nonisolated(unsafe) var failure: Error?
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { failure = error } else { result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        if let failure { throw failure }
        return result!
    }

    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A tiny random Llama saved as a Hugging Face folder with a 400-token fixture tokenizer: what
    /// `lmkit serve --model FOLDER` loads through the model registry, with no asset needed.
    static func tinyModelFolder(in folder: TemporaryFolder) throws -> String {
        let path = folder.path + "/tiny-llama"
        let tokenizer = fixturePath("tokenizers/llama3-style/tokenizer.json")
        let vocabulary = try #require(
            ((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tokenizer))) as? [String: Any])?["model"]
                as? [String: Any])?["vocab"] as? [String: Any]
        ).count
        var config = LlamaConfig()
        (config.vocabSize, config.width, config.layers, config.heads, config.kvHeads, config.headSize) = (vocabulary, 16, 2, 4, 2, 4)
        (config.intermediateSize, config.contextLength) = (32, 512)
        try LlamaForCausalLM(config, seed: 3).save(folder: path)
        try FileManager.default.copyItem(atPath: tokenizer, toPath: path + "/tokenizer.json")
        return path
    }

    @Test func conversationsPersistAcrossARestart() throws {
        let folder = TemporaryFolder(prefix: "lmkit-serve")
        let database = folder.path + "/conversations.sqlite"
        let model = ["--model", try Self.tinyModelFolder(in: folder), "--template", "llama3"]
        var server = try Server(database: database, extra: model)
        defer { server.stop() }
        let (created, createdBody) = try Self.call(server.port, "POST", "/v1/conversations", ["system": "Answer in one word."])
        #expect(created == 201)
        let id = try #require(try Self.object(createdBody)["id"] as? String)
        let (status, replyBody) = try Self.call(
            server.port, "POST", "/v1/conversations/\(id)/messages",
            ["content": "What is the capital of France?", "max_tokens": 8, "temperature": 0])
        #expect(status == 200)
        let reply = try Self.object(replyBody)
        #expect(((reply["message"] as? [String: Any])?["content"] as? String)?.isEmpty == false)
        // A streamed second turn: delta events, then the stored message, then [DONE].
        let (streamStatus, stream) = try Self.call(
            server.port, "POST", "/v1/conversations/\(id)/messages",
            ["content": "And of Italy?", "max_tokens": 8, "temperature": 0, "stream": true])
        let events = String(decoding: stream, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map {
            String($0.dropFirst(6))
        }
        #expect(streamStatus == 200 && events.last == "[DONE]")
        let final = try Self.object(Data(events.dropLast().last!.utf8))
        #expect(final["object"] as? String == "conversation.message")
        #expect(((final["usage"] as? [String: Any])?["cached_tokens"] as? Int ?? 0) > 0, "the second turn reuses the KV cache: \(final)")

        server.stop()
        server = try Server(database: database, extra: model)
        let (listStatus, listBody) = try Self.call(server.port, "GET", "/v1/conversations")
        #expect(listStatus == 200)
        let list = try #require(try Self.object(listBody)["data"] as? [[String: Any]])
        #expect(
            list.count == 1 && list.first?["message_count"] as? Int == 4
                && (list.first?["title"] as? String)?.hasPrefix("What is the capital") == true)
        let (_, conversationBody) = try Self.call(server.port, "GET", "/v1/conversations/\(id)")
        let messages = try #require(try Self.object(conversationBody)["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user", "assistant"])
        #expect(try Self.call(server.port, "DELETE", "/v1/conversations/\(id)").0 == 200)
        #expect(try Self.call(server.port, "GET", "/v1/conversations/\(id)").0 == 404)
    }

    @Test func pageMetricsCorsAndDisconnects() throws {
        guard TestAssets.available(.gemma) else { return }
        let folder = TemporaryFolder(prefix: "lmkit-serve")
        let server = try Server(database: folder.path + "/db.sqlite", extra: ["--cors-origin", "*"])
        defer { server.stop() }
        let (pageStatus, page) = try Self.call(server.port, "GET", "/")
        let html = String(decoding: page, as: UTF8.self)
        #expect(pageStatus == 200 && html.contains("<title>LMKit chat</title>"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http"), "the page loads nothing from elsewhere")
        let (corsStatus, _) = try Self.call(
            server.port, "OPTIONS", "/v1/models", headers: ["Origin": "http://example.com", "Access-Control-Request-Method": "POST"])
        #expect(corsStatus == 200 || corsStatus == 204)

        // A streaming request whose client goes away after the first bytes.
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v1/completions")!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "model": "gemma-3-270m", "prompt": "Once upon a time", "max_tokens": 1000, "stream": true,
        ])
        let task = URLSession.shared.dataTask(with: request) { _, _, _ in }
        task.resume()
        Thread.sleep(forTimeInterval: 1.5)
        task.cancel()
        var cancelled = 0
        for _ in 0..<50 {
            Thread.sleep(forTimeInterval: 0.2)
            let metrics = String(decoding: try Self.call(server.port, "GET", "/metrics").1, as: UTF8.self)
            cancelled =
                metrics.split(separator: "\n").first { $0.hasPrefix("lmkit_generations_cancelled_total ") }.flatMap {
                    Int($0.split(separator: " ")[1])
                } ?? 0
            if cancelled > 0 { break }
        }
        #expect(cancelled == 1, "the disconnected client's generation stopped")
        let metrics = String(decoding: try Self.call(server.port, "GET", "/metrics").1, as: UTF8.self)
        #expect(metrics.contains("lmkit_requests_total{route=\"page\",status=\"200\"} 1"))

        // Tokenize and detokenize round-trip; sentiment where the default classifier exists, else a 503 that says how to get one.
        let tokens = try Self.object(try Self.call(server.port, "POST", "/tokenize", ["content": "Hello, world!"]).1)
        let ids = try #require(tokens["tokens"] as? [Int])
        #expect((tokens["pieces"] as? [String])?.count == ids.count)
        #expect(
            try Self.object(try Self.call(server.port, "POST", "/detokenize", ["tokens": ids]).1)["content"] as? String == "Hello, world!")
        let (classifyStatus, classifyBody) = try Self.call(server.port, "POST", "/v1/classify", ["input": ["A wonderful, moving film."]])
        #expect(classifyStatus == 200 || classifyStatus == 503)
        if classifyStatus == 200 {
            let first = try #require((try Self.object(classifyBody)["data"] as? [[String: Any]])?.first)
            #expect(first["label"] is String && (first["scores"] as? [Any])?.count == 2)
        } else {
            #expect(String(decoding: classifyBody, as: UTF8.self).contains("lmkit classify"))
        }
        #expect(try Self.call(server.port, "GET", "/health").0 == 200)
    }

    /// The chat page in headless Chromium (`Tools/check/browser_chat.py`: standard-library Python
    /// speaking the DevTools Protocol): a question typed and sent, the reply seen growing while it
    /// streams until the page marks it complete, and after a reload the conversation listed and
    /// reopened. Its screenshot, `artifacts/browser-chat.png` at the repository root, is the artifact
    /// CI keeps. Runs where `chromium` or `chromium-browser` is on PATH (scripts/setup installs it).
    @Test func browserChatsAndReloads() throws {
        guard TestAssets.available(.gemma) else { return }
        let artifacts = URL(fileURLWithPath: fixturePath("../../artifacts")).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", fixturePath("../../Tools/check/browser_chat.py"), CommandTests.executable.path, artifacts]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 3 {  // the script's "skipped": no browser, or one that does not start
            let reason = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            print("◇ " + (reason.hasPrefix("SKIPPED: ") ? reason : "SKIPPED: no chromium"))
            return
        }
        #expect(process.terminationStatus == 0, "browser_chat.py: \(stderr)")
        guard process.terminationStatus == 0 else { return }
        let seen = try Self.object(Data(stdout.utf8))
        #expect((seen["reply"] as? String)?.isEmpty == false)
        #expect(seen["streamed"] as? Bool == true, "the reply grew while it was shown: \(seen)")
        #expect(seen["conversations_after_reload"] as? Int == 1)
        #expect(FileManager.default.fileExists(atPath: artifacts + "/browser-chat.png"))
    }
}

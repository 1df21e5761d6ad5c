import Foundation
import LMKitAssets
import LMKitGeneration
import Testing
import TestSupport

/// The Wikipedia summarization set `scripts/fetch-assets` makes: its fixed split, and training
/// prompts written exactly as ``Summarizer`` prompts at inference.
@Suite struct SummarizerTests {
    @Test func theSetsPromptsAreTheSummarizers() throws {
        guard TestAssets.available(.gensimData) else { return }
        let folder = TestAssets.store.folder(.gensimData) + "/wiki-summaries"
        var counts: [String: Int] = [:]
        for split in ["train", "validation", "test"] {
            let text = try String(contentsOfFile: folder + "/\(split).jsonl", encoding: .utf8)
            for line in text.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                let article = try #require(object["article"]), summary = try #require(object["summary"])
                #expect(object["prompt"] == Summarizer.prompt(article) && object["completion"] == " " + summary)
                #expect(article.split(separator: " ").count <= 200 && summary.split(separator: " ").count >= 15)
            }
            counts[split] = try Summarizer.examples(fromJSONLines: folder + "/\(split).jsonl").count
        }
        #expect(counts == ["train": 75, "validation": 9, "test": 8], "the split is fixed by the titles")
    }

    @Test func badExampleFilesAreNamedByLine() throws {
        let folder = TemporaryFolder(prefix: "lmkit-summaries")
        let path = folder.path + "/x.jsonl"
        try Data("{\"article\": \"a\", \"summary\": \"b\"}\n{\"article\": 1}\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: GenerationError.self) { try Summarizer.examples(fromJSONLines: path) }
        #expect(error?.description.contains("x.jsonl:2") == true)
    }
}

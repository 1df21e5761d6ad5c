import Foundation
import LMKitAssets
import Testing
import TestSupport

@Suite struct AssetStoreTests {
    @Test func missingAssetNamesTheScriptToRun() {
        let store = AssetStore(root: "/nonexistent/lmkit-cache")
        #expect(!store.isPresent(.gpt2))
        #expect(throws: AssetError.self) { try store.path(.gpt2) }
        do {
            _ = try store.path(.shakespeare)
        } catch {
            #expect(error.description.contains("scripts/fetch-assets --only shakespeare"))
            #expect(error.description.contains("/nonexistent/lmkit-cache/shakespeare/shakespeare.txt"))
        }
    }

    @Test func markerMayBeInASubfolder() throws {
        let root = TemporaryFolder(prefix: "lmkit-assets")
        let store = AssetStore(root: root.path)
        #expect(Asset.llamaCpp.marker == "vocab/ggml-vocab-llama-bpe.gguf")
        #expect(!store.isPresent(.llamaCpp))
        try FileManager.default.createDirectory(atPath: root.path + "/llama-cpp/vocab", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root.path + "/llama-cpp/vocab/ggml-vocab-llama-bpe.gguf", contents: Data()))
        #expect(store.isPresent(.llamaCpp))
        #expect(try store.path(.llamaCpp) == root.path + "/llama-cpp/vocab/ggml-vocab-llama-bpe.gguf")
        #expect(throws: AssetError.self) { try store.path(.llamaCpp, "vocab/ggml-vocab-qwen2.gguf") }
    }

    @Test func everyAssetHasAMarkerAndSummary() {
        for asset in Asset.allCases {
            #expect(!asset.marker.isEmpty && !asset.summary.isEmpty)
        }
    }
}

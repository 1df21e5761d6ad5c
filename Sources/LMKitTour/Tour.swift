import LMKitAssets
import LMKitPlot
import LMKitTensor

/// One stop of `lmkit tour`: a step of the study path, run live on real data.
public protocol TourChapter: Sendable {
    /// The name `--chapter` takes.
    var name: String { get }
    /// A one-line title.
    var title: String { get }
    /// Runs the chapter, narrating through `context`, and returns its measured results.
    func run(_ context: TourContext) throws -> [String: Double]
}

/// What a chapter needs: where to narrate, where assets are, and how much time to spend.
public struct TourContext: Sendable {
    /// Receives narration; silent when the tour prints JSON.
    public let narrate: @Sendable (String) -> Void
    /// The asset cache where chapters find their data sets and models.
    public let assets: AssetStore
    /// Seed for every random choice in the chapter.
    public let seed: UInt64
    /// Shortened chapters (smaller models, fewer steps): a smoke run of the whole path in seconds.
    public let quick: Bool

    /// A context narrating to `narrate`, with seed 42 and full-length chapters unless told otherwise.
    public init(assets: AssetStore = AssetStore(), seed: UInt64 = 42, quick: Bool = false, narrate: @escaping @Sendable (String) -> Void) {
        self.assets = assets
        self.seed = seed
        self.quick = quick
        self.narrate = narrate
    }

    /// A heading line.
    public func heading(_ text: String) { narrate("\n== \(text) ==\n") }
    /// A paragraph of explanation.
    public func say(_ text: String) { narrate(text) }
}

/// The measured outcome of one chapter, as `lmkit tour --json` prints it.
public struct ChapterReport: Codable, Sendable {
    /// The chapter's ``TourChapter/name``.
    public let name: String
    /// The chapter's ``TourChapter/title``.
    public let title: String
    /// Wall-clock seconds the chapter took.
    public let seconds: Double
    /// The measured results the chapter returned, by name.
    public let results: [String: Double]
}

/// The guided walk through the study path, in order.
public enum Tour {
    /// Every chapter that exists, in study-path order.
    public static let chapters: [any TourChapter] = [
        TokenizersChapter(), TensorsChapter(), EmbeddingsChapter(), RNNChapter(), GPTChapter(), EncodersChapter(),
        PretrainedDecoderChapter(), ChatChapter(), FineTuneChapter(), OptimizationChapter(),
    ]

    /// The chapter called `name`, or nil.
    public static func chapter(named name: String) -> (any TourChapter)? {
        chapters.first { $0.name == name }
    }

    /// Runs `selected` chapters in order.
    public static func run(_ selected: [any TourChapter], context: TourContext) throws -> [ChapterReport] {
        var reports: [ChapterReport] = []
        for chapter in selected {
            context.heading("Chapter: \(chapter.title)")
            let t0 = Clock.seconds()
            let results = try chapter.run(context)
            let seconds = Clock.seconds() - t0
            context.say("(chapter '\(chapter.name)' took \(Format.fixed(seconds, 1)) s)")
            reports.append(ChapterReport(name: chapter.name, title: chapter.title, seconds: seconds, results: results))
        }
        return reports
    }
}

/// Number formatting for narration: ``LMKitPlot/Format`` (the pictures use it too).
public typealias Format = LMKitPlot.Format

import Dispatch

enum Clock {
    static func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}

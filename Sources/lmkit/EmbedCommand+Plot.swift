import ArgumentParser
import LMKitEmbeddings
import LMKitPlot
import LMKitTensor
import LMKitTour

extension EmbedCommand {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw chosen words in 2-D (PCA of their vectors) as an SVG picture.",
            discussion: """
                Example: lmkit embed plot king queen man woman prince princess --pairs --out royals.svg
                --pairs joins the words two by two (king→queen, man→woman, …) so parallel offsets show.
                --json prints {"out": String, "explained": [Double, Double], "points": [{"word", "x", "y"}]}.
                """)
        @OptionGroup var source: Vectors
        @Argument(help: "The words to draw.") var words: [String]
        @Option(help: "The SVG file to write.") var out: String
        @Flag(help: "Join consecutive words in pairs with a line.") var pairs = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard words.count >= 2 else { throw ValidationError("give at least two words") }
            guard out.hasSuffix(".svg") else { throw ValidationError("--out must name an .svg file") }
        }

        struct Placed: Encodable { let word: String; let x: Double; let y: Double }
        struct Output: Encodable { let out: String; let explained: [Double]; let points: [Placed] }

        func run() throws {
            let v = try source.load()
            let (points, explained) = try v.principalComponents(of: words)
            let plotted = zip(words, points).enumerated().map { i, wp in
                ScatterPlot.Point(x: wp.1.x, y: wp.1.y, label: wp.0, group: pairs ? i % 2 : 0)
            }
            let segments = pairs ? stride(from: 0, to: words.count - 1, by: 2).map { ($0, $0 + 1) } : []
            let plot = ScatterPlot(
                title: "Word vectors, first two principal components",
                xLabel: "PC 1 (\(Int((explained.0 * 100).rounded()))% of variance)",
                yLabel: "PC 2 (\(Int((explained.1 * 100).rounded()))% of variance)",
                points: plotted, segments: segments)
            try AtomicFile.write(Array(plot.svg().utf8), to: out)
            if json {
                try printJSON(
                    Output(
                        out: out, explained: [explained.0, explained.1],
                        points: zip(words, points).map { Placed(word: $0, x: $1.x, y: $1.y) }))
            } else {
                print(
                    "wrote \(out): \(words.count) words; the two axes explain \(Format.fixed(explained.0 * 100, 1))% and \(Format.fixed(explained.1 * 100, 1))% of their variance"
                )
            }
        }
    }
}

import LMKitEmbeddings
import LMKitPlot
import LMKitTensor
import Testing
import TestSupport

@Suite struct ProjectionTests {
    @Test func principalComponentsFindTheDirectionsOfVariance() throws {
        // Points spread far more along (1, 1, 0) than along (0, 0, 1), the two uncorrelated.
        let words = ["a", "b", "c", "d"]
        let m = Tensor(shape: [4, 3], scalars: [10, 10, 1, -10, -10, 1, 5, 5, -1, -5, -5, -1] as [Float])
        let v = try WordVectors(words: words, matrix: m)
        let (points, explained) = try v.principalComponents(of: words)
        #expect(explained.0 > 0.95 && explained.0 + explained.1 > 0.999)
        // The first axis orders the points by their position along (1, 1, 0).
        #expect(points.map(\.x).enumerated().sorted { $0.element < $1.element }.map(\.offset) == [1, 3, 2, 0])
        let s2 = 2.0.squareRoot()
        #expect(Swift.abs(points[0].x - 10 * s2) < 1e-4)
        #expect(throws: WordVectorsError.self) { try v.principalComponents(of: ["a"]) }
    }

    @Test func svgHasEveryLabelEscaped() {
        let plot = ScatterPlot(
            title: "t <&>", points: [.init(x: 0, y: 0, label: "a&b"), .init(x: 1, y: 2, label: "<c>", group: 1)],
            segments: [(0, 1)])
        let svg = plot.svg()
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("a&amp;b") && svg.contains("&lt;c&gt;") && svg.contains("t &lt;&amp;&gt;"))
        #expect(svg.components(separatedBy: "<circle").count == 3 && svg.contains("<line"))
    }
}

import Foundation

/// Lines of (x, y) points, e.g. training and validation loss against steps, written as SVG.
public struct LinePlot: Sendable {
    /// One named line, drawn in its own palette colour and listed in the legend.
    public struct Series: Sendable {
        /// The legend entry.
        public let name: String
        /// The points, joined in order.
        public let points: [(x: Double, y: Double)]
        /// A line through `points`, labelled `name`.
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    /// Heading printed above the plot.
    public var title: String
    /// Axis captions, below the x axis and beside the y axis; empty: none.
    public var xLabel: String, yLabel: String
    /// The lines; both axes span all their points and the reference lines.
    public var series: [Series]
    /// Horizontal reference lines (a target loss), with their labels.
    public var references: [(y: Double, label: String)]

    /// A plot of `series`, with optional dashed horizontal `references`.
    public init(title: String, xLabel: String = "", yLabel: String = "", series: [Series], references: [(y: Double, label: String)] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.references = references
    }

    /// The SVG document.
    public func svg(width: Int = 720, height: Int = 450) -> String {
        let margin = 60.0
        let all = series.flatMap(\.points)
        let xs = all.map(\.x), ys = all.map(\.y) + references.map(\.y)
        let (x0, x1) = ScatterPlot.padded(xs.min() ?? 0, xs.max() ?? 1)
        let (y0, y1) = ScatterPlot.padded(ys.min() ?? 0, ys.max() ?? 1)
        let w = Double(width), h = Double(height)
        func px(_ x: Double) -> Double { margin + (x - x0) / (x1 - x0) * (w - 2 * margin) }
        func py(_ y: Double) -> Double { h - margin - (y - y0) / (y1 - y0) * (h - 2 * margin) }
        func f(_ v: Double) -> String { ScatterPlot.f(v) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="28" text-anchor="middle" font-size="16">\(ScatterPlot.escape(title))</text>
            <line x1="\(f(margin))" y1="\(f(h - margin))" x2="\(f(w - margin))" y2="\(f(h - margin))" stroke="#444"/>
            <line x1="\(f(margin))" y1="\(f(margin))" x2="\(f(margin))" y2="\(f(h - margin))" stroke="#444"/>
            <text x="\(width / 2)" y="\(height - 15)" text-anchor="middle" font-size="13">\(ScatterPlot.escape(xLabel))</text>
            <text x="18" y="\(height / 2)" text-anchor="middle" font-size="13" transform="rotate(-90 18 \(height / 2))">\(ScatterPlot.escape(yLabel))</text>

            """
        for k in 0...4 {
            let yv = y0 + (y1 - y0) * Double(k) / 4, xv = x0 + (x1 - x0) * Double(k) / 4
            out += "<text x=\"\(f(margin - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\" font-size=\"11\">\(LinePlot.tick(yv))</text>\n"
            out +=
                "<text x=\"\(f(px(xv)))\" y=\"\(f(h - margin + 16))\" text-anchor=\"middle\" font-size=\"11\">\(LinePlot.tick(xv))</text>\n"
            out += "<line x1=\"\(f(margin))\" y1=\"\(f(py(yv)))\" x2=\"\(f(w - margin))\" y2=\"\(f(py(yv)))\" stroke=\"#eee\"/>\n"
        }
        for r in references {
            out +=
                "<line x1=\"\(f(margin))\" y1=\"\(f(py(r.y)))\" x2=\"\(f(w - margin))\" y2=\"\(f(py(r.y)))\" stroke=\"#999\" stroke-dasharray=\"6 4\"/>\n"
            out +=
                "<text x=\"\(f(w - margin - 4))\" y=\"\(f(py(r.y) - 5))\" text-anchor=\"end\" font-size=\"11\" fill=\"#666\">\(ScatterPlot.escape(r.label))</text>\n"
        }
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let colour = ScatterPlot.palette[i % ScatterPlot.palette.count]
            let path = s.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            let ly = margin + 18 * Double(i)
            out +=
                "<line x1=\"\(f(w - margin - 130))\" y1=\"\(f(ly))\" x2=\"\(f(w - margin - 105))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(w - margin - 100))\" y=\"\(f(ly + 4))\" font-size=\"12\">\(ScatterPlot.escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// An axis label: few digits, no trailing zeros.
    static func tick(_ v: Double) -> String {
        let a = abs(v)
        let digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3
        var s = String(format: "%.\(digits)f", v)
        if s.contains(".") { while s.hasSuffix("0") { s.removeLast() }; if s.hasSuffix(".") { s.removeLast() } }
        return s == "-0" ? "0" : s
    }
}

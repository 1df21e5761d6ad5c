/// A labelled 2-D scatter plot written as SVG (self-contained, viewable in any browser).
public struct ScatterPlot: Sendable {
    /// One labelled dot.
    public struct Point: Sendable {
        /// Position in data coordinates.
        public let x: Double, y: Double
        /// Text written beside the dot.
        public let label: String
        /// Points with the same group share a colour.
        public let group: Int
        /// A dot at (`x`, `y`) labelled `label`, coloured by `group`.
        public init(x: Double, y: Double, label: String, group: Int = 0) {
            self.x = x; self.y = y; self.label = label; self.group = group
        }
    }

    /// Heading printed above the plot.
    public var title: String
    /// Axis captions, below the plot and beside it; empty: none.
    public var xLabel: String, yLabel: String
    /// The dots; the axes span them with a margin.
    public var points: [Point]
    /// Pairs of point indices to join with a line (e.g. man→woman, king→queen).
    public var segments: [(Int, Int)]

    /// A plot of `points`, with dashed lines joining the index pairs in `segments`.
    public init(title: String, xLabel: String = "", yLabel: String = "", points: [Point], segments: [(Int, Int)] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.segments = segments
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    /// The SVG document.
    public func svg(width: Int = 720, height: Int = 540) -> String {
        let margin = 60.0
        let xs = points.map(\.x), ys = points.map(\.y)
        let (x0, x1) = Self.padded(xs.min() ?? 0, xs.max() ?? 1)
        let (y0, y1) = Self.padded(ys.min() ?? 0, ys.max() ?? 1)
        let w = Double(width), h = Double(height)
        func px(_ x: Double) -> Double { margin + (x - x0) / (x1 - x0) * (w - 2 * margin) }
        func py(_ y: Double) -> Double { h - margin - (y - y0) / (y1 - y0) * (h - 2 * margin) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(w / 2)" y="28" text-anchor="middle" font-size="18">\(Self.escape(title))</text>
            <rect x="\(margin)" y="\(margin)" width="\(w - 2 * margin)" height="\(h - 2 * margin)" fill="none" stroke="#999"/>
            <text x="\(w / 2)" y="\(h - 18)" text-anchor="middle" font-size="13" fill="#555">\(Self.escape(xLabel))</text>
            <text x="18" y="\(h / 2)" text-anchor="middle" font-size="13" fill="#555" transform="rotate(-90 18 \(h / 2))">\(Self.escape(yLabel))</text>

            """
        for (a, b) in segments where points.indices.contains(a) && points.indices.contains(b) {
            out +=
                "<line x1=\"\(Self.f(px(points[a].x)))\" y1=\"\(Self.f(py(points[a].y)))\" x2=\"\(Self.f(px(points[b].x)))\" y2=\"\(Self.f(py(points[b].y)))\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n"
        }
        for p in points {
            let colour = Self.palette[abs(p.group) % Self.palette.count]
            out += "<circle cx=\"\(Self.f(px(p.x)))\" cy=\"\(Self.f(py(p.y)))\" r=\"5\" fill=\"\(colour)\"/>\n"
            out +=
                "<text x=\"\(Self.f(px(p.x) + 8))\" y=\"\(Self.f(py(p.y) + 4))\" font-size=\"14\" fill=\"\(colour)\">\(Self.escape(p.label))</text>\n"
        }
        return out + "</svg>\n"
    }

    static func padded(_ lo: Double, _ hi: Double) -> (Double, Double) {
        let span = hi - lo
        if span <= 0 || !span.isFinite { return (lo - 1, lo + 1) }
        return (lo - 0.08 * span, hi + 0.15 * span)
    }

    static func f(_ x: Double) -> String { String((x * 10).rounded() / 10) }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}

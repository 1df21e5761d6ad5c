/// A labelled matrix drawn as coloured cells, written as SVG: attention maps (query tokens down the
/// side, key tokens along the top, as "The Illustrated BERT" draws them), similarity matrices.
public struct HeatMap: Sendable {
    /// Heading printed centred above the matrix.
    public var title: String
    /// One label per row and per column.
    public var rowLabels: [String], columnLabels: [String]
    /// `values[row][column]`.
    public var values: [[Double]]
    /// The value drawn darkest; nil: the largest value.
    public var maximum: Double?
    /// Print each cell's value inside it (for small matrices).
    public var showValues: Bool
    /// Axis captions: down the left side for the rows, above the column labels; empty: none.
    public var rowTitle: String, columnTitle: String

    /// A heat map of `values`, which must have one row per row label and one column per column label.
    public init(
        title: String, rowLabels: [String], columnLabels: [String], values: [[Double]], maximum: Double? = nil,
        showValues: Bool = false, rowTitle: String = "", columnTitle: String = ""
    ) {
        precondition(
            values.count == rowLabels.count && values.allSatisfy { $0.count == columnLabels.count },
            "HeatMap: \(values.count) rows for \(rowLabels.count) labels, or rows of the wrong length")
        self.title = title
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.maximum = maximum
        self.showValues = showValues
        self.rowTitle = rowTitle
        self.columnTitle = columnTitle
    }

    /// The SVG document; cells are `cell` pixels square.
    public func svg(cell: Int = 28) -> String {
        let longest = (rowLabels + columnLabels).map(\.count).max() ?? 1
        let labelSpace = Double(min(220, 16 + 8 * longest))
        let c = Double(cell)
        let left = labelSpace + 30, top = labelSpace + 50
        let width = left + c * Double(columnLabels.count) + 90
        let height = top + c * Double(rowLabels.count) + 30
        let finite = values.joined().filter(\.isFinite)
        let hi = maximum ?? (finite.max() ?? 1)
        let lo = min(0, finite.min() ?? 0)
        func shade(_ v: Double) -> String {
            let t = hi > lo && v.isFinite ? min(1, max(0, (v - lo) / (hi - lo))) : 0
            // white → deep blue
            let r = Int(255 - t * (255 - 8)), g = Int(255 - t * (255 - 48)), b = Int(255 - t * (255 - 107))
            return "rgb(\(r),\(g),\(b))"
        }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(ScatterPlot.f(width / 2))" y="24" text-anchor="middle" font-size="16">\(ScatterPlot.escape(title))</text>

            """
        if !columnTitle.isEmpty {
            out +=
                "<text x=\"\(ScatterPlot.f(left + c * Double(columnLabels.count) / 2))\" y=\"44\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">\(ScatterPlot.escape(columnTitle))</text>\n"
        }
        if !rowTitle.isEmpty {
            let y = top + c * Double(rowLabels.count) / 2
            out +=
                "<text x=\"14\" y=\"\(ScatterPlot.f(y))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\" transform=\"rotate(-90 14 \(ScatterPlot.f(y)))\">\(ScatterPlot.escape(rowTitle))</text>\n"
        }
        for (j, label) in columnLabels.enumerated() {
            let x = left + c * (Double(j) + 0.5), y = top - 6
            out +=
                "<text x=\"\(ScatterPlot.f(x))\" y=\"\(ScatterPlot.f(y))\" font-size=\"12\" transform=\"rotate(-60 \(ScatterPlot.f(x)) \(ScatterPlot.f(y)))\">\(ScatterPlot.escape(label))</text>\n"
        }
        for (i, label) in rowLabels.enumerated() {
            out +=
                "<text x=\"\(ScatterPlot.f(left - 6))\" y=\"\(ScatterPlot.f(top + c * (Double(i) + 0.5) + 4))\" text-anchor=\"end\" font-size=\"12\">\(ScatterPlot.escape(label))</text>\n"
            for (j, v) in values[i].enumerated() {
                let x = left + c * Double(j), y = top + c * Double(i)
                out +=
                    "<rect x=\"\(ScatterPlot.f(x))\" y=\"\(ScatterPlot.f(y))\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(shade(v))\"><title>\(ScatterPlot.escape(label)) → \(ScatterPlot.escape(columnLabels[j])): \(Format.fixed(v, 2))</title></rect>\n"
                if showValues {
                    let dark = hi > lo && (v - lo) / (hi - lo) > 0.55
                    out +=
                        "<text x=\"\(ScatterPlot.f(x + c / 2))\" y=\"\(ScatterPlot.f(y + c / 2 + 4))\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(dark ? "white" : "#333")\">\(Format.fixed(v, 2))</text>\n"
                }
            }
        }
        // Colour scale.
        let sx = left + c * Double(columnLabels.count) + 20
        for k in 0..<10 {
            let v = hi - (hi - lo) * Double(k) / 9
            out +=
                "<rect x=\"\(ScatterPlot.f(sx))\" y=\"\(ScatterPlot.f(top + Double(k) * 14))\" width=\"14\" height=\"14\" fill=\"\(shade(v))\"/>\n"
        }
        out += "<text x=\"\(ScatterPlot.f(sx + 18))\" y=\"\(ScatterPlot.f(top + 11))\" font-size=\"11\">\(Format.fixed(hi, 2))</text>\n"
        out +=
            "<text x=\"\(ScatterPlot.f(sx + 18))\" y=\"\(ScatterPlot.f(top + 9 * 14 + 11))\" font-size=\"11\">\(Format.fixed(lo, 2))</text>\n"
        return out + "</svg>\n"
    }
}

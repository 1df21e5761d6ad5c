/// Number formatting for narration and pictures (no Foundation needed).
public enum Format {
    /// `value` with `digits` decimals.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        if !value.isFinite { return String(value) }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(value) * scale).rounded()
        let whole = Int(r / scale)
        let frac = Int(r - Double(whole) * scale)
        let sign = value < 0 && r > 0 ? "-" : ""
        if digits == 0 { return sign + String(whole) }
        let f = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - f.count) + f
    }
}

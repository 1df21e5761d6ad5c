// ggml's k-quants: super-blocks of 256 weights in sub-blocks of 32 (Q4_K, Q5_K: a 6-bit scale and
// min each) or 16 (Q6_K: a signed 8-bit scale each), the sub-block scales themselves quantized
// against one float16 per super-block. Without an importance matrix these are ggml's
// `quantize_row_q{4,5,6}_K_ref` (what llama-quantize runs then); with one, `quantize_row_q*_K_impl`.

extension GGMLQuantizer {
    /// Packs the 8 six-bit scales and mins of a Q4_K/Q5_K super-block into its 12 `scales` bytes.
    static func packScalesAndMins(_ ls: (Int) -> UInt8, _ lm: (Int) -> UInt8, _ s: UnsafeMutableRawPointer) {
        for i in 0..<12 { s.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
        func or(_ i: Int, _ v: UInt8) { s.storeBytes(of: s.load(fromByteOffset: i, as: UInt8.self) | v, toByteOffset: i, as: UInt8.self) }
        for j in 0..<8 {
            let (l, m) = (ls(j), lm(j))
            if j < 4 {
                or(j, l)
                or(j + 4, m)
            } else {
                or(j + 4, (l & 0x0F) | ((m & 0x0F) << 4))
                or(j - 4, (l >> 4) << 6)
                or(j, (m >> 4) << 6)
            }
        }
    }

    /// A super-block of Q4_K (`top` 15) or Q5_K (`top` 31): sub-block scales and mins from
    /// ``offsetScale``, quantized to 6 bits (against their maximum without importance, by
    /// ``positiveScale`` with it), then every weight's level for the scales as stored. Returns the
    /// 256 levels in `levels`; `head` receives d, dmin and the 12 scale bytes.
    static func superBlockLevels(
        _ x: UnsafePointer<Float>, top: Int32, importance qw: UnsafePointer<Float>?, head: UnsafeMutableRawPointer,
        levels: UnsafeMutablePointer<UInt8>
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 56) { floats in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { bytes in
                let scales = floats.baseAddress!, mins = scales + 8, sums = scales + 16, w = scales + 24
                let ls = bytes.baseAddress!, lm = ls + 8, scratch = ls + 16
                var sigma2: Float = 0
                if qw != nil {
                    var sumX2: Float = 0
                    for l in 0..<256 { sumX2 += x[l] * x[l] }
                    sigma2 = 2 * sumX2 / 256
                }
                for j in 0..<8 {
                    let xs = x + 32 * j
                    if let qw {
                        for l in 0..<32 { w[l] = qw[32 * j + l] * (sigma2 + xs[l] * xs[l]).squareRoot() }
                        var sum: Float = 0
                        for l in 0..<32 { sum += w[l] }
                        sums[j] = sum
                        (scales[j], mins[j]) = offsetScale(
                            xs, 32, nmax: top, weights: w, levels: levels + 32 * j, scratch: scratch, rmin: -0.9, rdelta: 0.05, steps: 36)
                    } else {
                        var sumX2: Float = 0
                        for l in 0..<32 { sumX2 += xs[l] * xs[l] }
                        let av = (sumX2 / 32).squareRoot()
                        for l in 0..<32 { w[l] = av + abs(xs[l]) }
                        (scales[j], mins[j]) = offsetScale(
                            xs, 32, nmax: top, weights: w, levels: levels + 32 * j, scratch: scratch,
                            rmin: top == 15 ? -1 : -0.5, rdelta: 0.1, steps: top == 15 ? 20 : 15)
                    }
                }
                let d: Float, dmin: Float
                if qw != nil {
                    d = positiveScale(scales, 8, nmax: 63, levels: ls, weights: sums)
                    dmin = positiveScale(mins, 8, nmax: 63, levels: lm, weights: sums)
                } else {
                    var maxScale: Float = 0, maxMin: Float = 0
                    for j in 0..<8 {
                        if scales[j] > maxScale { maxScale = scales[j] }
                        if mins[j] > maxMin { maxMin = mins[j] }
                    }
                    let invScale: Float = maxScale > 0 ? 63 / maxScale : 0, invMin: Float = maxMin > 0 ? 63 / maxMin : 0
                    for j in 0..<8 {
                        ls[j] = UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j]))
                        lm[j] = UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j]))
                    }
                    (d, dmin) = (maxScale / 63, maxMin / 63)
                }
                for j in 0..<8 { (ls[j], lm[j]) = (min(63, ls[j]), min(63, lm[j])) }
                head.storeBytes(of: half(d), as: UInt16.self)
                head.storeBytes(of: half(dmin), toByteOffset: 2, as: UInt16.self)
                packScalesAndMins({ ls[$0] }, { lm[$0] }, head + 4)
                let dStored = Float(Float16(bitPattern: half(d))), mStored = Float(Float16(bitPattern: half(dmin)))
                for j in 0..<8 {
                    let sd = dStored * Float(ls[j])
                    if sd == 0 { continue }
                    let dm = mStored * Float(lm[j])
                    for i in 0..<32 {
                        levels[32 * j + i] = UInt8(max(0, min(top, nearestInt((x[32 * j + i] + dm) / sd))))
                    }
                }
            }
        }
    }

    /// `{d, dmin: f16, scales[12], qs[128]}`: 8 sub-blocks of 32 4-bit levels, weight ≈ d·sc·q − dmin·m.
    static func q4_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, importance: UnsafePointer<Float>?) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { levels in
            let l = levels.baseAddress!
            superBlockLevels(x, top: 15, importance: importance, head: y, levels: l)
            for chunk in 0..<4 {
                for i in 0..<32 {
                    y.storeBytes(of: l[64 * chunk + i] | l[64 * chunk + 32 + i] << 4, toByteOffset: 16 + 32 * chunk + i, as: UInt8.self)
                }
            }
        }
    }

    /// `{d, dmin: f16, scales[12], qh[32], qs[128]}`: Q4_K's layout with a fifth bit per weight in `qh`.
    static func q5_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, importance: UnsafePointer<Float>?) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { levels in
            let l = levels.baseAddress!
            superBlockLevels(x, top: 31, importance: importance, head: y, levels: l)
            let qh = y + 16, qs = y + 48
            for i in 0..<32 { qh.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            var m1: UInt8 = 1, m2: UInt8 = 2
            for chunk in 0..<4 {
                for j in 0..<32 {
                    var l1 = l[64 * chunk + j], l2 = l[64 * chunk + 32 + j], h = qh.load(fromByteOffset: j, as: UInt8.self)
                    if l1 > 15 { (l1, h) = (l1 - 16, h | m1) }
                    if l2 > 15 { (l2, h) = (l2 - 16, h | m2) }
                    qh.storeBytes(of: h, toByteOffset: j, as: UInt8.self)
                    qs.storeBytes(of: l1 | l2 << 4, toByteOffset: 32 * chunk + j, as: UInt8.self)
                }
                m1 <<= 2
                m2 <<= 2
            }
        }
    }

    /// `{ql[128], qh[64], scales[16]: i8, d: f16}`: 16 sub-blocks of 16 6-bit levels (−32 … 31), each
    /// with a signed 8-bit scale against d.
    static func q6_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, importance: UnsafePointer<Float>?) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scales in
                q6_K(x, y, importance: importance, levels: levels.baseAddress!, scales: scales.baseAddress!)
            }
        }
    }

    static func q6_K(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, importance: UnsafePointer<Float>?, levels l: UnsafeMutablePointer<Int8>,
        scales: UnsafeMutablePointer<Float>
    ) {
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for b in 0..<16 {
            let scale = symmetricScale(x + 16 * b, 16, nmax: 32, levels: l + 16 * b, weights: importance.map { $0 + 16 * b })
            scales[b] = scale
            if abs(scale) > maxAbsScale { (maxAbsScale, maxScale) = (abs(scale), scale) }
        }
        if maxAbsScale < groupMaxEpsilon {
            for i in 0..<210 { y.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            return
        }
        let iscale = -128 / maxScale
        y.storeBytes(of: half(1 / iscale), toByteOffset: 208, as: UInt16.self)
        let d = Float(Float16(bitPattern: half(1 / iscale)))
        for b in 0..<16 {
            let s = Int8(truncatingIfNeeded: min(127, nearestInt(iscale * scales[b])))
            y.storeBytes(of: s, toByteOffset: 192 + b, as: Int8.self)
            let sd = d * Float(s)
            if sd == 0 { continue }
            for i in 0..<16 { l[16 * b + i] = Int8(max(-32, min(31, nearestInt(x[16 * b + i] / sd))) + 32) }
        }
        for half in 0..<2 {
            let ql = y + 64 * half, qh = y + 128 + 32 * half, lv = l + 128 * half
            for i in 0..<32 {
                let q0 = UInt8(bitPattern: lv[i]), q1 = UInt8(bitPattern: lv[i + 32])
                let q2 = UInt8(bitPattern: lv[i + 64]), q3 = UInt8(bitPattern: lv[i + 96])
                ql.storeBytes(of: (q0 & 0x0F) | (q2 & 0x0F) << 4, toByteOffset: i, as: UInt8.self)
                ql.storeBytes(of: (q1 & 0x0F) | (q3 & 0x0F) << 4, toByteOffset: 32 + i, as: UInt8.self)
                qh.storeBytes(of: (q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6, toByteOffset: i, as: UInt8.self)
            }
        }
    }
}

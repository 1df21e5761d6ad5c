// The scale searches behind ggml's k-quants and importance-weighted quantizers (ggml-quants.c's
// `make_qx_quants`, `make_qkx2_quants`/`make_qkx3_quants` and `make_qp_quants`): each tries a few
// scales around the obvious one and keeps the one of least weighted squared error. Written in the
// same order of float32 operations as the C (no fused multiply-add: ggml-base is built without
// one), so the levels, and hence the bytes, are the same.

extension GGMLQuantizer {
    /// ggml's `nearest_int`: round half to even through the float32 mantissa (|x| < 2²²).
    @inline(__always) static func nearestInt(_ x: Float) -> Int32 {
        Int32(bitPattern: (x + 12_582_912).bitPattern & 0x007f_ffff) - 0x0040_0000
    }

    /// Below this, a group is all zero (`GROUP_MAX_EPS`).
    static let groupMaxEpsilon: Float = 1e-15

    /// Symmetric levels −nmax … nmax−1 (stored plus nmax in `levels`) and the scale that fits `x`
    /// best under weights `w` (nil: x², ggml's `rmse_type` 1): 19 candidate scales around −nmax/max.
    static func symmetricScale(
        _ x: UnsafePointer<Float>, _ n: Int, nmax: Int32, levels: UnsafeMutablePointer<Int8>, weights w: UnsafePointer<Float>?
    ) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax { (amax, max) = (abs(x[i]), x[i]) }
        if amax < groupMaxEpsilon {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        @inline(__always) func level(_ iscale: Float, _ i: Int) -> Int32 {
            Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
        }
        @inline(__always) func weight(_ i: Int) -> Float { w?[i] ?? x[i] * x[i] }
        var iscale = Float(-nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = level(iscale, i)
            levels[i] = Int8(l + nmax)
            let wi = weight(i), fl = Float(l)
            sumlx += wi * x[i] * fl
            suml2 += wi * fl * fl
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / max
            sumlx = 0
            suml2 = 0
            for i in 0..<n {
                let wi = weight(i), fl = Float(level(iscale, i))
                sumlx += wi * x[i] * fl
                suml2 += wi * fl * fl
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0..<n { levels[i] = Int8(level(iscale, i) + nmax) }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// Levels 0 … nmax with an offset: x ≈ scale·level − min. Starts from (max − min)/nmax and tries
    /// `steps` + 1 scales (rmin + rdelta·k + nmax)/(max − min), each with the least-squares scale and
    /// minimum for its levels; keeps the one of least weighted squared error. Returns the scale and
    /// the (non-negative) min; `levels` holds the chosen levels, `scratch` n bytes.
    static func offsetScale(
        _ x: UnsafePointer<Float>, _ n: Int, nmax: Int32, weights w: UnsafePointer<Float>,
        levels: UnsafeMutablePointer<UInt8>, scratch: UnsafeMutablePointer<UInt8>, rmin: Float, rdelta: Float, steps: Int
    ) -> (scale: Float, min: Float) {
        var min = x[0], max = x[0]
        var sumW = w[0], sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            sumW += w[i]
            sumX += w[i] * x[i]
        }
        if min > 0 { min = 0 }
        if max <= min {
            for i in 0..<n { levels[i] = 0 }
            return (0, -min)
        }
        @inline(__always) func level(_ iscale: Float, _ i: Int) -> UInt8 {
            UInt8(Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - min)))))
        }
        var iscale = Float(nmax) / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            levels[i] = level(iscale, i)
            let diff = scale * Float(levels[i]) + min - x[i]
            bestError += w[i] * (diff * diff)
        }
        for step in 0...steps {
            iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (max - min)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                scratch[i] = level(iscale, i)
                let fl = Float(scratch[i])
                sumL += w[i] * fl
                sumL2 += w[i] * fl * fl
                sumXL += w[i] * fl * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / det
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n {
                let diff = thisScale * Float(scratch[i]) + thisMin - x[i]
                error += w[i] * (diff * diff)
            }
            if error < bestError {
                for i in 0..<n { levels[i] = scratch[i] }
                bestError = error
                scale = thisScale
                min = thisMin
            }
        }
        return (scale, -min)
    }

    /// Levels 0 … nmax for non-negative `x` (a super-block's scales or mins) and their scale, under
    /// weights `w`: 9 candidate scales, then up to 5 passes moving single levels while that helps.
    static func positiveScale(
        _ x: UnsafePointer<Float>, _ n: Int, nmax: Int32, levels: UnsafeMutablePointer<UInt8>, weights w: UnsafePointer<Float>
    ) -> Float {
        var max: Float = 0
        for i in 0..<n { max = max > x[i] ? max : x[i] }
        if max < groupMaxEpsilon {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        var iscale = Float(nmax) / max
        for i in 0..<n { levels[i] = UInt8(truncatingIfNeeded: nearestInt(iscale * x[i])) }
        let scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(levels[i])
            bestError += w[i] * diff * diff
        }
        for step in -4...4 where step != 0 {
            let candidate = (0.1 * Float(step) + Float(nmax)) / max, s = 1 / candidate
            var error: Float = 0
            for i in 0..<n {
                let diff = x[i] - s * Float(Swift.min(nmax, nearestInt(candidate * x[i])))
                error += w[i] * diff * diff
            }
            if error < bestError {
                bestError = error
                iscale = candidate
            }
        }
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.min(nmax, nearestInt(iscale * x[i]))
            levels[i] = UInt8(truncatingIfNeeded: l)
            sumlx += w[i] * x[i] * Float(l)
            suml2 += w[i] * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = false
            for i in 0..<n {
                let li = Float(levels[i])
                var slx = sumlx - w[i] * x[i] * li, sl2 = suml2 - w[i] * li * li
                guard slx > 0 && sl2 > 0 else { continue }
                let new = Swift.min(nmax, nearestInt(x[i] * sl2 / slx))
                guard new != Int32(levels[i]) else { continue }
                slx += w[i] * x[i] * Float(new)
                sl2 += w[i] * Float(new) * Float(new)
                if slx * slx * suml2 > sumlx * sumlx * sl2 {
                    levels[i] = UInt8(truncatingIfNeeded: new)
                    sumlx = slx
                    suml2 = sl2
                    changed = true
                }
            }
            if !changed { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }
}

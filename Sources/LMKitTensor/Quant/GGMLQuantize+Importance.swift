// The 32-weight block types quantized under an importance matrix, as llama-quantize does with
// `--imatrix` (ggml-quants.c's `quantize_row_q{4,5}_{0,1}_impl`): weight j of a block counts
// imatrix[j]·√(σ² + x_j²), σ² the row's mean square, and the block's scale (and min) are searched
// for the least weighted squared error instead of taken from its extreme value.

extension GGMLQuantizer {
    /// One row of `type` (Q4_0, Q4_1, Q5_0 or Q5_1) under `importance` (one value per column).
    static func legacyRow(
        _ x: UnsafePointer<Float>, _ n: Int, as type: GGMLType, importance qw: UnsafePointer<Float>, into y: UnsafeMutableRawPointer
    ) {
        var sumX2: Float = 0
        for j in 0..<n { sumX2 += x[j] * x[j] }
        let sigma2 = sumX2 / Float(n)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { bytes in
                let w = weights.baseAddress!, levels = bytes.baseAddress!, scratch = levels + 32
                for b in 0..<n / 32 {
                    let xb = x + 32 * b, out = y + b * type.blockBytes
                    for j in 0..<32 { w[j] = qw[32 * b + j] * (sigma2 + xb[j] * xb[j]).squareRoot() }
                    var qh: UInt32 = 0
                    var nibbles = out + 2
                    switch type {
                    case .q4_0, .q5_0:
                        let d = levels.withMemoryRebound(to: Int8.self, capacity: 32) {
                            symmetricScale(xb, 32, nmax: type == .q4_0 ? 8 : 16, levels: $0, weights: w)
                        }
                        out.storeBytes(of: half(d), as: UInt16.self)
                        if type == .q5_0 { nibbles = out + 6 }
                    default:
                        let (d, min) = offsetScale(
                            xb, 32, nmax: type == .q4_1 ? 15 : 31, weights: w, levels: levels, scratch: scratch, rmin: -0.9, rdelta: 0.05,
                            steps: 36)
                        out.storeBytes(of: half(d), as: UInt16.self)
                        out.storeBytes(of: half(-min), toByteOffset: 2, as: UInt16.self)
                        nibbles = out + (type == .q4_1 ? 4 : 8)
                    }
                    for j in 0..<16 {
                        let a = levels[j], c = levels[j + 16]
                        nibbles.storeBytes(of: (a & 0x0F) | (c & 0x0F) << 4, toByteOffset: j, as: UInt8.self)
                        qh |= UInt32(a >> 4 & 1) << j | UInt32(c >> 4 & 1) << (j + 16)
                    }
                    if type == .q5_0 { out.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self) }
                    if type == .q5_1 { out.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self) }
                }
            }
        }
    }
}

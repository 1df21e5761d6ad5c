/// Loops over the elements of up to three equally shaped (possibly broadcast, possibly strided)
/// operands, handing the innermost axis to a body as one run with its own strides.
///
/// Axes that all operands traverse contiguously are merged first, so a contiguous tensor is one run
/// and a row-broadcast `[N, C] + [C]` is N runs of C. Runs are split across cores when there are many.
enum StridedLoop {
    /// Offsets of operand 0, 1, 2 at the start of a run, the run length, and each operand's stride in it.
    typealias Run = (o0: Int, o1: Int, o2: Int, n: Int, s0: Int, s1: Int, s2: Int)

    static func forEachRun(shape: [Int], strides: [[Int]], minRunsPerThread: Int = 1, _ body: (Run) -> Void) {
        precondition(strides.count >= 1 && strides.count <= 3)
        var padded = strides
        while padded.count < 3 { padded.append([Int](repeating: 0, count: shape.count)) }
        if Shape.count(shape) == 0 { return }
        let (cshape, cstrides) = Shape.coalesce(shape: shape, strides: padded)
        let inner = cshape.count - 1
        let n = cshape[inner]
        let s0 = cstrides[0][inner], s1 = cstrides[1][inner], s2 = cstrides[2][inner]
        let outerShape = Array(cshape[..<inner])
        let runs = Shape.count(outerShape)
        let elementsPerRun = max(n, 1)
        // ~16K elements per thread before splitting is worth it.
        let minRuns = max(minRunsPerThread, 16_384 / elementsPerRun)
        Parallel.forRanges(runs, minChunk: minRuns) { range in
            // Multi-index of the first run in this range, then increment like an odometer.
            var index = [Int](repeating: 0, count: outerShape.count)
            var rem = range.lowerBound
            var o0 = 0, o1 = 0, o2 = 0
            for axis in stride(from: outerShape.count - 1, through: 0, by: -1) {
                let i = rem % outerShape[axis]
                rem /= outerShape[axis]
                index[axis] = i
                o0 += i * cstrides[0][axis]; o1 += i * cstrides[1][axis]; o2 += i * cstrides[2][axis]
            }
            for _ in range {
                body((o0, o1, o2, n, s0, s1, s2))
                var axis = outerShape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    o0 += cstrides[0][axis]; o1 += cstrides[1][axis]; o2 += cstrides[2][axis]
                    if index[axis] < outerShape[axis] { break }
                    o0 -= cstrides[0][axis] * outerShape[axis]
                    o1 -= cstrides[1][axis] * outerShape[axis]
                    o2 -= cstrides[2][axis] * outerShape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}

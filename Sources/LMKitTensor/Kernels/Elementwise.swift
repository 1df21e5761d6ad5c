import RealModule

/// Element-wise functions of one tensor. The raw values are the names used in errors and the tape.
public enum UnaryOp: String, Sendable {
    case neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, abs, square, sin, cos, geluTanh, geluErf, silu
}

/// Element-wise functions of two tensors (broadcast).
public enum BinaryOp: String, Sendable {
    case add, sub, mul, div, maximum, minimum
    /// 1 where a ≥ b, else 0 (not differentiable: no gradient flows through it).
    case greaterEqual
}

/// Flat loops over contiguous buffers, SIMD16 with a padded tail, split across cores.
enum ElementwiseKernels {
    /// Elements per thread before splitting: ~64 KB of float traffic.
    static let minChunk = 16_384

    /// y[i] = f(x[i]) for the vectorizable functions; the rest go through scalar RealModule math.
    static func unary<S: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int) {
        switch op {
        case .exp: map(x, y, n) { S.exp16($0) }
        case .sigmoid: map(x, y, n) { VMath.sigmoid($0) }
        case .silu: map(x, y, n) { $0 * VMath.sigmoid($0) }
        case .geluTanh: map(x, y, n) { VMath.geluTanh($0) }
        case .geluErf: map(x, y, n) { VMath.geluErf($0) }
        case .neg: map(x, y, n) { -$0 }
        case .square: map(x, y, n) { $0 * $0 }
        case .sqrt: map(x, y, n) { $0.squareRoot() }
        case .rsqrt: map(x, y, n) { 1 / $0.squareRoot() }
        case .relu: scalarMap(x, y, n) { $0 > 0 ? $0 : 0 }
        case .abs: scalarMap(x, y, n) { Swift.abs($0) }
        case .log: scalarMap(x, y, n) { S.log($0) }
        case .tanh: scalarMap(x, y, n) { S.tanh($0) }
        case .sin: scalarMap(x, y, n) { S.sin($0) }
        case .cos: scalarMap(x, y, n) { S.cos($0) }
        }
    }

    /// dx[i] = dy[i] · f′(x[i]) (given x) for the functions whose derivative needs x.
    static func unaryBackward<S: TensorScalar>(_ op: UnaryOp, x: UnsafePointer<S>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, _ n: Int) {
        switch op {
        case .geluTanh: zip(x, dy, dx, n) { x, g in g * VMath.geluTanhDerivative(x) }
        case .geluErf: zip(x, dy, dx, n) { x, g in g * VMath.geluErfDerivative(x) }
        case .silu:
            zip(x, dy, dx, n) { x, g in
                let s = VMath.sigmoid(x)
                return g * (s + x * s * (1 - s))
            }
        case .square: zip(x, dy, dx, n) { x, g in 2 * x * g }
        case .relu: scalarZip(x, dy, dx, n) { x, g in x > 0 ? g : 0 }
        case .abs: scalarZip(x, dy, dx, n) { x, g in x > 0 ? g : (x < 0 ? -g : 0) }
        case .log: zip(x, dy, dx, n) { x, g in g / x }
        case .sin: scalarZip(x, dy, dx, n) { x, g in g * S.cos(x) }
        case .cos: scalarZip(x, dy, dx, n) { x, g in -g * S.sin(x) }
        case .neg, .exp, .sigmoid, .tanh, .sqrt, .rsqrt:
            preconditionFailure("\(op) backward is computed from its output")
        }
    }

    /// dx[i] = dy[i] · f′ expressed through the output y[i], for exp, sigmoid, tanh, sqrt, rsqrt.
    static func unaryBackwardFromOutput<S: TensorScalar>(_ op: UnaryOp, y: UnsafePointer<S>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, _ n: Int) {
        switch op {
        case .exp: zip(y, dy, dx, n) { y, g in g * y }
        case .sigmoid: zip(y, dy, dx, n) { y, g in g * y * (1 - y) }
        case .tanh: zip(y, dy, dx, n) { y, g in g * (1 - y * y) }
        case .sqrt: zip(y, dy, dx, n) { y, g in g / (2 * y) }
        case .rsqrt: zip(y, dy, dx, n) { y, g in -0.5 * g * y * y * y }
        default: preconditionFailure("\(op) backward is computed from its input")
        }
    }

    @inline(__always)
    static func map<S: TensorScalar>(_ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int, _ f: (SIMD16<S>) -> SIMD16<S>) {
        Parallel.forRanges((n + 15) / 16, minChunk: minChunk / 16) { blocks in
            let start = blocks.lowerBound * 16
            let end = min(blocks.upperBound * 16, n)
            var i = start
            while i + 16 <= end {
                store16(f(load16(x + i)), y + i)
                i += 16
            }
            if i < end { storePartial16(f(loadPartial16(x + i, end - i)), y + i, end - i) }
        }
    }

    @inline(__always)
    static func zip<S: TensorScalar>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int,
                                     _ f: (SIMD16<S>, SIMD16<S>) -> SIMD16<S>) {
        Parallel.forRanges((n + 15) / 16, minChunk: minChunk / 16) { blocks in
            let start = blocks.lowerBound * 16
            let end = min(blocks.upperBound * 16, n)
            var i = start
            while i + 16 <= end {
                store16(f(load16(a + i), load16(b + i)), y + i)
                i += 16
            }
            if i < end {
                // Pad with 1 so functions like g / x stay finite in the unused lanes.
                storePartial16(f(loadPartial16(a + i, end - i, padding: 1), loadPartial16(b + i, end - i, padding: 1)), y + i, end - i)
            }
        }
    }

    @inline(__always)
    static func scalarMap<S: TensorScalar>(_ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int, _ f: (S) -> S) {
        Parallel.forRanges(n, minChunk: minChunk) { r in
            for i in r { y[i] = f(x[i]) }
        }
    }

    @inline(__always)
    static func scalarZip<S: TensorScalar>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int, _ f: (S, S) -> S) {
        Parallel.forRanges(n, minChunk: minChunk) { r in
            for i in r { y[i] = f(a[i], b[i]) }
        }
    }

    /// One run of a broadcast binary op: `o[i] = f(a[i·sa], b[i·sb])`, with the common stride patterns
    /// written out so the compiler vectorizes them.
    @inline(__always)
    static func binaryRun<S: TensorScalar>(_ o: UnsafeMutablePointer<S>, _ a: UnsafePointer<S>, _ sa: Int, _ b: UnsafePointer<S>, _ sb: Int,
                                           _ n: Int, _ f: (S, S) -> S) {
        if sa == 1 && sb == 1 {
            for i in 0..<n { o[i] = f(a[i], b[i]) }
        } else if sa == 1 && sb == 0 {
            let v = b[0]
            for i in 0..<n { o[i] = f(a[i], v) }
        } else if sa == 0 && sb == 1 {
            let v = a[0]
            for i in 0..<n { o[i] = f(v, b[i]) }
        } else {
            for i in 0..<n { o[i] = f(a[i * sa], b[i * sb]) }
        }
    }

    /// `out = a op b` over broadcast strides; `out` is contiguous with shape `shape`.
    static func binary<S: TensorScalar>(_ op: BinaryOp, shape: [Int], out: UnsafeMutablePointer<S>, outStrides: [Int],
                                        a: UnsafePointer<S>, aStrides: [Int], b: UnsafePointer<S>, bStrides: [Int]) {
        StridedLoop.forEachRun(shape: shape, strides: [outStrides, aStrides, bStrides]) { r in
            let o = out + r.o0, x = a + r.o1, y = b + r.o2
            switch op {
            case .add: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 + $1 }
            case .sub: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 - $1 }
            case .mul: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 * $1 }
            case .div: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 / $1 }
            case .maximum: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 >= $1 ? $0 : $1 }
            case .minimum: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 <= $1 ? $0 : $1 }
            case .greaterEqual: binaryRun(o, x, r.s1, y, r.s2, r.n) { $0 >= $1 ? 1 : 0 }
            }
        }
    }

    /// Strided copy of `shape` elements from `src` (any strides) to `dst` (any strides).
    static func copy<T>(shape: [Int], dst: UnsafeMutablePointer<T>, dstStrides: [Int], src: UnsafePointer<T>, srcStrides: [Int]) {
        StridedLoop.forEachRun(shape: shape, strides: [dstStrides, srcStrides]) { r in
            let d = dst + r.o0, s = src + r.o1
            if r.s0 == 1 && r.s1 == 1 {
                d.update(from: s, count: r.n)
            } else {
                for i in 0..<r.n { d[i * r.s0] = s[i * r.s1] }
            }
        }
    }
}

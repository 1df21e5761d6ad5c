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

/// Flat loops over contiguous buffers, SIMD8 with a padded tail, split across cores.
enum ElementwiseKernels {
    /// Elements per thread before splitting: ~64 KB of float traffic.
    static let minChunk = 16_384

    /// y[i] = f(x[i]) for the vectorizable functions; the rest go through scalar RealModule math.
    static func unary<S: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int) {
        switch op {
        case .exp: map(Fn.Exp.self, x, y, n)
        case .sigmoid: map(Fn.Sigmoid.self, x, y, n)
        case .silu: map(Fn.SiLU.self, x, y, n)
        case .geluTanh: map(Fn.GELUTanh.self, x, y, n)
        case .geluErf: map(Fn.GELUErf.self, x, y, n)
        case .neg: map(Fn.Neg.self, x, y, n)
        case .square: map(Fn.Square.self, x, y, n)
        case .sqrt: map(Fn.Sqrt.self, x, y, n)
        case .rsqrt: map(Fn.Rsqrt.self, x, y, n)
        case .relu: scalarMap(x, y, n) { $0 > 0 ? $0 : 0 }
        case .abs: scalarMap(x, y, n) { Swift.abs($0) }
        case .log: scalarMap(x, y, n) { S.log($0) }
        case .tanh: scalarMap(x, y, n) { S.tanh($0) }
        case .sin: scalarMap(x, y, n) { S.sin($0) }
        case .cos: scalarMap(x, y, n) { S.cos($0) }
        }
    }

    /// dx[i] = dy[i] · f′(x[i]) (given x) for the functions whose derivative needs x.
    static func unaryBackward<S: TensorScalar>(
        _ op: UnaryOp, x: UnsafePointer<S>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, _ n: Int
    ) {
        switch op {
        case .geluTanh: zip(Fn.GELUTanhBackward.self, x, dy, dx, n)
        case .geluErf: zip(Fn.GELUErfBackward.self, x, dy, dx, n)
        case .silu: zip(Fn.SiLUBackward.self, x, dy, dx, n)
        case .square: zip(Fn.SquareBackward.self, x, dy, dx, n)
        case .log: zip(Fn.LogBackward.self, x, dy, dx, n)
        case .relu: scalarZip(x, dy, dx, n) { x, g in x > 0 ? g : 0 }
        case .abs: scalarZip(x, dy, dx, n) { x, g in x > 0 ? g : (x < 0 ? -g : 0) }
        case .sin: scalarZip(x, dy, dx, n) { x, g in g * S.cos(x) }
        case .cos: scalarZip(x, dy, dx, n) { x, g in -g * S.sin(x) }
        case .neg, .exp, .sigmoid, .tanh, .sqrt, .rsqrt:
            preconditionFailure("\(op) backward is computed from its output")
        }
    }

    /// dx[i] = dy[i] · f′ expressed through the output y[i], for exp, sigmoid, tanh, sqrt, rsqrt.
    static func unaryBackwardFromOutput<S: TensorScalar>(
        _ op: UnaryOp, y: UnsafePointer<S>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, _ n: Int
    ) {
        switch op {
        case .exp: zip(Fn.ExpBackward.self, y, dy, dx, n)
        case .sigmoid: zip(Fn.SigmoidBackward.self, y, dy, dx, n)
        case .tanh: zip(Fn.TanhBackward.self, y, dy, dx, n)
        case .sqrt: zip(Fn.SqrtBackward.self, y, dy, dx, n)
        case .rsqrt: zip(Fn.RsqrtBackward.self, y, dy, dx, n)
        default: preconditionFailure("\(op) backward is computed from its input")
        }
    }

    /// y = F(x) over SIMD8 blocks, split across cores. `F` is a type, not a closure, so its body is
    /// inlined into the specialized loop (a closure here became a call per vector: 2-3× slower).
    @inline(__always)
    static func map<F: VectorMap, S: TensorScalar>(_: F.Type, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int) {
        Parallel.forRanges((n + 7) / 8, minChunk: minChunk / 8) { blocks in
            let start = blocks.lowerBound * 8
            let end = min(blocks.upperBound * 8, n)
            var i = start
            while i + 8 <= end {
                store8(F.apply(load8(x + i)), y + i)
                i += 8
            }
            if i < end { storePartial8(F.apply(loadPartial8(x + i, end - i)), y + i, end - i) }
        }
    }

    /// y = F(a, b) over SIMD8 blocks, split across cores.
    @inline(__always)
    static func zip<F: VectorZip, S: TensorScalar>(
        _: F.Type, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int
    ) {
        Parallel.forRanges((n + 7) / 8, minChunk: minChunk / 8) { blocks in
            let start = blocks.lowerBound * 8
            let end = min(blocks.upperBound * 8, n)
            var i = start
            while i + 8 <= end {
                store8(F.apply(load8(a + i), load8(b + i)), y + i)
                i += 8
            }
            if i < end {
                // Pad with 1 so functions like g / x stay finite in the unused lanes.
                storePartial8(F.apply(loadPartial8(a + i, end - i, padding: 1), loadPartial8(b + i, end - i, padding: 1)), y + i, end - i)
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
    static func scalarZip<S: TensorScalar>(
        _ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int, _ f: (S, S) -> S
    ) {
        Parallel.forRanges(n, minChunk: minChunk) { r in
            for i in r { y[i] = f(a[i], b[i]) }
        }
    }

    /// One run of a broadcast binary op: `o[i] = f(a[i·sa], b[i·sb])`, with the common stride patterns
    /// written out so the compiler vectorizes them.
    @inline(__always)
    static func binaryRun<S: TensorScalar>(
        _ o: UnsafeMutablePointer<S>, _ a: UnsafePointer<S>, _ sa: Int, _ b: UnsafePointer<S>, _ sb: Int,
        _ n: Int, _ f: (S, S) -> S
    ) {
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
    static func binary<S: TensorScalar>(
        _ op: BinaryOp, shape: [Int], out: UnsafeMutablePointer<S>, outStrides: [Int],
        a: UnsafePointer<S>, aStrides: [Int], b: UnsafePointer<S>, bStrides: [Int]
    ) {
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

/// A function applied lane-wise to one vector.
protocol VectorMap { static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> }
/// A function applied lane-wise to two vectors (an input and an upstream gradient).
protocol VectorZip { static func apply<S: TensorScalar>(_ a: SIMD8<S>, _ b: SIMD8<S>) -> SIMD8<S> }

/// The vectorized element-wise functions and their derivatives (`g` is the upstream gradient).
enum Fn {
    enum Exp: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { S.exp8(x) } }
    enum Sigmoid: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { VMath.sigmoid(x) } }
    enum SiLU: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { x * VMath.sigmoid(x) } }
    enum GELUTanh: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { VMath.geluTanh(x) } }
    enum GELUErf: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { VMath.geluErf(x) } }
    enum Neg: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { -x } }
    enum Square: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { x * x } }
    enum Sqrt: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { x.squareRoot() } }
    enum Rsqrt: VectorMap { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>) -> SIMD8<S> { 1 / x.squareRoot() } }

    // Derivatives from the input x: apply(x, g) = g · f′(x).
    enum GELUTanhBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g * VMath.geluTanhDerivative(x) }
    }
    enum GELUErfBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g * VMath.geluErfDerivative(x) }
    }
    enum SiLUBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> {
            let s = VMath.sigmoid(x)
            return g * s.addingProduct(x * s, 1 - s)
        }
    }
    enum SquareBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { 2 * x * g }
    }
    enum LogBackward: VectorZip { @inline(__always) static func apply<S: TensorScalar>(_ x: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g / x } }

    // Derivatives from the output y: apply(y, g) = g · f′ written through y.
    enum ExpBackward: VectorZip { @inline(__always) static func apply<S: TensorScalar>(_ y: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g * y } }
    enum SigmoidBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ y: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g * y * (1 - y) }
    }
    enum TanhBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ y: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g * (1 - y * y) }
    }
    enum SqrtBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ y: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { g / (2 * y) }
    }
    enum RsqrtBackward: VectorZip {
        @inline(__always) static func apply<S: TensorScalar>(_ y: SIMD8<S>, _ g: SIMD8<S>) -> SIMD8<S> { -0.5 * g * y * y * y }
    }
}

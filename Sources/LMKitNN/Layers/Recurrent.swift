import LMKitTensor

/// The recurrent cells of the study path, as PyTorch defines them (`nn.RNN`, `nn.LSTM`, `nn.GRU`).
///
/// With gates computed from the input `x` and the previous hidden state `h`:
/// - **RNN** (Elman 1990): `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
/// - **LSTM** (Hochreiter & Schmidhuber 1997): `i, f, g, o` = the four chunks, in that order, of
///   `W_ih x + b_ih + W_hh h + b_hh`; `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`. The cell
///   state `c` is a path through time that only gates touch, which is why gradients survive longer.
/// - **GRU** (Cho et al. 2014): `r, z, n` chunks; `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z` alike,
///   `n = tanh(W_in x + b_in + r·(W_hn h + b_hn))`, `h' = (1 − z)·n + z·h`.
public enum RecurrentCell: String, Codable, Sendable, CaseIterable {
    case rnn, lstm, gru

    /// Blocks of `hidden` rows stacked in each weight matrix.
    public var gates: Int {
        switch self {
        case .rnn: return 1
        case .lstm: return 4
        case .gru: return 3
        }
    }
}

/// A multi-layer recurrent network over batch-first sequences, with PyTorch's parameter names
/// (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, …) and layouts, so weights move
/// between the two unchanged.
///
/// Backpropagation through time is the autograd tape of the unrolled loop; truncated BPTT is a
/// detached state passed to the next call:
/// ```swift
/// var state: Recurrent.State? = nil
/// for chunk in chunks {
///     let (y, s) = lstm(chunk, state: state?.detached())
///     state = s
/// }
/// ```
public final class Recurrent: Module {
    /// The recurrence every layer runs (RNN, LSTM or GRU).
    public let cell: RecurrentCell
    /// Features per input step (`input_size`).
    public let inputSize: Int
    /// Width of the hidden state (`hidden_size`).
    public let hiddenSize: Int
    /// Stacked layers (`num_layers`); each after the first reads the outputs of the one below.
    public let layers: Int
    /// Per layer, `weight_ih_lN` `[gates · hidden, in]` (in: `inputSize` for layer 0, else `hiddenSize`)
    /// and `weight_hh_lN` `[gates · hidden, hidden]`.
    public let weightIH: [Parameter], weightHH: [Parameter]
    /// Per layer, `bias_ih_lN` and `bias_hh_lN` `[gates · hidden]` (nil without biases).
    public let biasIH: [Parameter?], biasHH: [Parameter?]
    /// Dropout on each layer's output except the last (PyTorch's `dropout`).
    public let interLayerDropout: Dropout

    /// The hidden state of every layer, `[layers, B, hidden]`, and for an LSTM the cell state.
    public struct State {
        /// Hidden state of every layer, `[layers, B, hidden]`.
        public var h: Tensor
        /// LSTM cell state of every layer, `[layers, B, hidden]` (nil for RNN and GRU).
        public var c: Tensor?
        /// A state from hidden (and, for an LSTM, cell) tensors `[layers, B, hidden]`.
        public init(h: Tensor, c: Tensor? = nil) { self.h = h; self.c = c }
        /// The same values, cut from the graph (truncated backpropagation through time).
        public func detached() -> State { State(h: h.detached(), c: c?.detached()) }
    }

    /// PyTorch's initialization, U(−1/√hidden, 1/√hidden) for every weight and bias; `forgetBias`
    /// sets the LSTM forget-gate biases (`bias_ih` part) instead, as Jozefowicz et al. 2015 advise (1.0).
    public init(
        _ cell: RecurrentCell, inputSize: Int, hiddenSize: Int, layers: Int = 1, bias: Bool = true, dropout: Double = 0,
        forgetBias: Double? = nil, generator: inout RandomGenerator
    ) {
        precondition(inputSize > 0 && hiddenSize > 0 && layers > 0, "recurrent sizes must be positive")
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        let bound = 1 / Double(hiddenSize).squareRoot()
        let rows = cell.gates * hiddenSize
        var wih: [Parameter] = [], whh: [Parameter] = [], bih: [Parameter?] = [], bhh: [Parameter?] = []
        for l in 0..<layers {
            let inputs = l == 0 ? inputSize : hiddenSize
            wih.append(Parameter(.randomUniform([rows, inputs], low: -bound, high: bound, generator: &generator)))
            whh.append(Parameter(.randomUniform([rows, hiddenSize], low: -bound, high: bound, generator: &generator)))
            if bias {
                var b = Tensor.randomUniform([rows], low: -bound, high: bound, generator: &generator)
                if cell == .lstm, let forgetBias {
                    // Keep the random values outside the forget block [H, 2H); put forgetBias inside.
                    let inForget = (0..<rows).map { $0 >= hiddenSize && $0 < 2 * hiddenSize }
                    let keep = Tensor(shape: [rows], doubles: inForget.map { $0 ? 0 : 1 })
                    let set = Tensor(shape: [rows], doubles: inForget.map { $0 ? forgetBias : 0 })
                    b = (b * keep + set).detached()
                }
                bih.append(Parameter(b))
                bhh.append(Parameter(.randomUniform([rows], low: -bound, high: bound, generator: &generator)))
            } else {
                bih.append(nil)
                bhh.append(nil)
            }
        }
        weightIH = wih; weightHH = whh; biasIH = bih; biasHH = bhh
        interLayerDropout = Dropout(dropout, seed: generator.next())
        super.init()
        for l in 0..<layers {
            register("weight_ih_l\(l)", wih[l])
            register("weight_hh_l\(l)", whh[l])
            if let b = bih[l] { register("bias_ih_l\(l)", b) }
            if let b = bhh[l] { register("bias_hh_l\(l)", b) }
        }
        register("dropout", interLayerDropout)
    }

    /// Runs `x: [B, T, input]` from `state` (zeros when nil): the top layer's output at every step
    /// `[B, T, hidden]`, and the final state of every layer.
    public func callAsFunction(_ x: Tensor, state: State? = nil) -> (output: Tensor, state: State) {
        precondition(x.rank == 3 && x.shape[2] == (inputSize), "recurrent input must be [B, T, \(inputSize)], got \(x.shape)")
        let (b, t) = (x.shape[0], x.shape[1])
        let hs = hiddenSize
        let zeros = Tensor.zeros([b, hs], dtype: x.dtype)
        var finalH: [Tensor] = [], finalC: [Tensor] = []
        var input = x
        for l in 0..<layers {
            var h = state.map { $0.h.selected(axis: 0, index: l) } ?? zeros  // (B, H)
            var c = cell == .lstm ? (state?.c.map { $0.selected(axis: 0, index: l) } ?? zeros) : zeros
            // All input projections at once: (B, T, gates·H).
            let projected = Tensor.linear(input, weight: weightIH[l].value, bias: biasIH[l]?.value)
            var outputs: [Tensor] = []
            outputs.reserveCapacity(t)
            for step in 0..<t {
                let xg = projected.selected(axis: 1, index: step)  // (B, gates·H)
                let hg = Tensor.linear(h, weight: weightHH[l].value, bias: biasHH[l]?.value)  // (B, gates·H)
                switch cell {
                case .rnn:
                    h = (xg + hg).tanh()
                case .lstm:
                    let g = (xg + hg).chunked(4, axis: 1)  // i, f, g, o
                    c = g[1].sigmoid() * c + g[0].sigmoid() * g[2].tanh()
                    h = g[3].sigmoid() * c.tanh()
                case .gru:
                    let xi = xg.chunked(3, axis: 1), hi = hg.chunked(3, axis: 1)  // r, z, n
                    let r = (xi[0] + hi[0]).sigmoid()
                    let z = (xi[1] + hi[1]).sigmoid()
                    let n = (xi[2] + r * hi[2]).tanh()
                    h = (1.0 - z) * n + z * h
                }
                outputs.append(h)
            }
            finalH.append(h)
            if cell == .lstm { finalC.append(c) }
            input = Tensor.stacked(outputs, axis: 1)  // (B, T, H)
            if l < layers - 1 { input = interLayerDropout(input) }
        }
        let final = State(h: Tensor.stacked(finalH, axis: 0), c: cell == .lstm ? Tensor.stacked(finalC, axis: 0) : nil)
        return (input, final)
    }
}

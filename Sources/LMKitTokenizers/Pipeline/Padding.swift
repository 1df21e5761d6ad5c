/// How to cut encodings that are too long (`tokenizer.json` `"truncation"`).
public struct Truncation: Sendable, Equatable {
    /// Which text of a pair loses tokens: the longer one, one token at a time, or only the first or only the second.
    public enum Strategy: String, Sendable { case longestFirst = "longest_first", onlyFirst = "only_first", onlySecond = "only_second" }
    /// The side tokens are cut from: `.right` keeps the start of the text, `.left` keeps the end.
    public enum Direction: String, Sendable { case right = "Right", left = "Left" }
    /// Most tokens in an encoding, special tokens included.
    public var maxLength: Int
    /// How a pair shares the length budget (`strategy`); single texts ignore it.
    public var strategy: Strategy = .longestFirst
    /// Tokens shared by consecutive overflowing windows.
    public var stride: Int = 0
    /// The side tokens are cut from (`direction`); `.right` (the default) keeps the start of the text.
    public var direction: Direction = .right

    /// Truncation to `maxLength` tokens, with Hugging Face's defaults for the rest.
    public init(maxLength: Int, strategy: Strategy = .longestFirst, stride: Int = 0, direction: Direction = .right) {
        self.maxLength = maxLength; self.strategy = strategy; self.stride = stride; self.direction = direction
    }
}

/// How to pad a batch to a common length (`tokenizer.json` `"padding"`).
public struct Padding: Sendable, Equatable {
    /// The target length: the longest encoding in the batch, or a fixed number of tokens.
    public enum Length: Sendable, Equatable { case batchLongest, fixed(Int) }
    /// The side padding goes on: `.right` after the text, `.left` before it.
    public enum Direction: String, Sendable { case right = "Right", left = "Left" }
    /// Length to pad to (`strategy`: `BatchLongest` or `{"Fixed": n}`).
    public var length: Length = .batchLongest
    /// The side padding goes on (`direction`); `.right` appends it.
    public var direction: Direction = .right
    /// Round the length up to a multiple of this (`pad_to_multiple_of`); nil: no rounding.
    public var multipleOf: Int? = nil
    /// Token id of the padding (`pad_id`).
    public var padID: Int = 0
    /// Segment (type id) given to padding tokens (`pad_type_id`).
    public var padTypeID: Int = 0
    /// Token string of the padding (`pad_token`).
    public var padToken: String = "[PAD]"

    /// Padding settings; the defaults pad on the right to the batch's longest with id 0, `[PAD]`.
    public init(
        length: Length = .batchLongest, direction: Direction = .right, multipleOf: Int? = nil, padID: Int = 0, padTypeID: Int = 0,
        padToken: String = "[PAD]"
    ) {
        self.length = length; self.direction = direction; self.multipleOf = multipleOf
        self.padID = padID; self.padTypeID = padTypeID; self.padToken = padToken
    }
}

extension Encoding {
    /// Pads to `length` tokens (no-op if already that long).
    public mutating func pad(to length: Int, with p: Padding) {
        let n = length - count
        guard n > 0 else { return }
        func add<T>(_ a: inout [T], _ v: T) {
            if p.direction == .right {
                a += Array(repeating: v, count: n)
            } else {
                a.insert(contentsOf: Array(repeating: v, count: n), at: 0)
            }
        }
        add(&ids, p.padID); add(&tokens, p.padToken); add(&offsets, 0..<0); add(&typeIds, p.padTypeID)
        add(&attentionMask, 0); add(&specialTokensMask, 1); add(&sequenceIds, nil)
    }

    /// Keeps `maxLength` tokens (from the start with `.right`), returning the windows cut off, each
    /// `maxLength` long and overlapping the previous by `stride`.
    mutating func truncate(to maxLength: Int, stride: Int, direction: Truncation.Direction) {
        guard count > maxLength else { return }
        guard maxLength > 0 else { overflowing = [self]; self = slice(0..<0); return }
        let step = max(1, maxLength - stride)
        var windows: [Range<Int>] = []
        if direction == .right {
            var start = 0
            while true {
                windows.append(start..<min(start + maxLength, count))
                if start + maxLength >= count { break }
                start += step
            }
        } else {
            var end = count
            while true {
                windows.append(max(0, end - maxLength)..<end)
                if end - maxLength <= 0 { break }
                end -= step
            }
        }
        let whole = self
        self = whole.slice(windows[0])
        overflowing = windows.dropFirst().map { whole.slice($0) }
    }
}

import LMKitTensor
import LMKitTokenizers

/// Tokenizer throughput on a text file, measured the way `benchmarks/tokenizers_reference.py`
/// measures tiktoken and Hugging Face tokenizers, so the two sides compare like for like:
/// one thread encodes the whole text as one string; two threads encode it cut into 64 chunks at line
/// boundaries, as a batch. Each measurement is the median of `repeats` runs after a warm-up.
public struct TokenizerBenchmark: Sendable {
    /// One tokenizer measurement, with the keys of `benchmarks/tokenizers_reference.py`'s rows.
    public struct Row: Codable, Sendable {
        /// The label passed to ``measure(_:_:threads:)``.
        public let name: String
        /// 1: the whole text encoded as one string; more: the chunks encoded as a batch.
        public let threads: Int
        /// Throughput in megabytes (10⁶ bytes) of UTF-8 text per second, from the median run.
        public let mb_per_s: Double
        /// Median wall-clock seconds to encode the text once.
        public let seconds: Double
        /// Tokens the timed encoding produced.
        public let tokens: Int
        /// Length of the text in UTF-8 bytes.
        public let bytes: Int
    }

    /// The text encoded on every run.
    public let text: String
    /// Timed runs after the warm-up; the row reports their median (give at least 1).
    public let repeats: Int

    /// A benchmark that encodes `text`, timing `repeats` runs per measurement.
    public init(text: String, repeats: Int) {
        self.text = text
        self.repeats = repeats
    }

    /// The text cut into `count` chunks after the newline nearest each k/count point (the earlier
    /// one on a tie), exactly as the reference script cuts it.
    public func chunks(_ count: Int = 64) -> [String] {
        let bytes = Array(text.utf8)
        var cuts = [0]
        for k in 1..<count {
            let target = bytes.count * k / count
            var left = min(target, bytes.count) - 1
            while left >= 0 && bytes[left] != 0x0A { left -= 1 }
            var right = target
            while right < bytes.count && bytes[right] != 0x0A { right += 1 }
            let candidates = [left, right < bytes.count ? right : -1].filter { $0 >= 0 }
            guard let nl = candidates.min(by: { (abs($0 - target), $0) < (abs($1 - target), $1) }) else { continue }
            let cut = nl + 1
            if cuts.last! < cut && cut < bytes.count { cuts.append(cut) }
        }
        cuts.append(bytes.count)
        return (0..<(cuts.count - 1)).map { String(decoding: bytes[cuts[$0]..<cuts[$0 + 1]], as: UTF8.self) }
    }

    /// Measures `tokenizer` with `threads` (1: whole text on this thread; more: the chunk batch on
    /// ``Parallel/threads`` workers). Returns the row and, for checking against the references, the
    /// ids of the chunks concatenated (computed once more, untimed, whatever `threads` is: ids at a
    /// chunk boundary can differ from those of the whole text, e.g. GPT-2's "\n\n" token).
    public func measure(_ name: String, _ tokenizer: Tokenizer, threads: Int) throws -> (Row, [Int]) {
        var ids: [Int] = []
        var times: [Double] = []
        let pieces = chunks()
        for run in 0...repeats {
            let t0 = Timing.now()
            if threads == 1 {
                ids = try tokenizer.encodeIDs(text, specialTokens: .text)
            } else {
                ids = try tokenizer.encodeIDsBatch(pieces, specialTokens: .text).flatMap { $0 }
            }
            if run > 0 { times.append(Timing.now() - t0) }
        }
        let seconds = times.sorted()[times.count / 2]
        let timedCount = ids.count
        ids = try tokenizer.encodeIDsBatch(pieces, specialTokens: .text).flatMap { $0 }
        let bytes = text.utf8.count
        return (
            Row(name: name, threads: threads, mb_per_s: Double(bytes) / seconds / 1e6, seconds: seconds, tokens: timedCount, bytes: bytes),
            ids
        )
    }
}

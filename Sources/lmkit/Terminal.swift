import Foundation
import LMKitEmbeddings

/// A one-line progress bar on standard error (only on a terminal).
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled && isatty(2) != 0 }

    func update(_ p: Word2Vec.Progress) {
        guard enabled else { return }
        let width = 30, filled = Int(p.fraction * Double(width))
        let eta = p.fraction > 0 ? p.elapsed * (1 - p.fraction) / p.fraction : 0
        let line =
            "\r  epoch \(p.epoch)/\(p.epochs) [\(String(repeating: "█", count: filled))\(String(repeating: " ", count: max(0, width - filled)))] \(Int(p.fraction * 100))%  \(Int(p.wordsPerSecond / 1000))k words/s  ETA \(Int(eta))s  "
        writeStandardError(line)
    }

    func finish() { if enabled { writeStandardError("\n") } }
}

func printError(_ text: String) { writeStandardError(text + "\n") }

/// Writes to file descriptor 2 (the C `stderr` global is not concurrency-safe in Swift 6).
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// Writes to file descriptor 1 at once, unbuffered (streamed generation must appear as it comes).
func writeStandardOutput(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
}

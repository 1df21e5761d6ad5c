import ArgumentParser
import Foundation

/// The contents of the UTF-8 text file at `path`, or a validation error naming it: unreadable, or not
/// UTF-8 (followed by `advice` in parentheses when given).
func readTextFile(_ path: String, advice: String? = nil) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the file") }
    guard let text = String(validating: data, as: UTF8.self) else {
        throw ValidationError("\(path): not valid UTF-8 text" + (advice.map { " (\($0))" } ?? ""))
    }
    return text
}

import Foundation
import LMKitTokenizers
import Testing

/// The strict reader of Punkt models written as Python literals (`punkt/<language>.py`).
@Suite struct PunktParametersTests {
    /// Writes `source` to a fresh file and reads it as a Punkt model.
    static func load(_ source: String) throws -> PunktParameters {
        let path = NSTemporaryDirectory() + "punkt-\(getpid())-\(UInt64.random(in: 0..<UInt64.max)).py"
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try PunktParameters(pythonFile: path)
    }

    static let minimal = """
        \"\"\"Punkt model: test.\"\"\"

        LANGUAGE = 'test'
        TRAINED_TOKENS = 0
        # a comment
        ABBREV_TYPES = frozenset((
            'dr','u.s','. . ','it\\'s','caf\\xe9','\\u00e9t\\u00e9',
        ))
        SENT_STARTERS = frozenset((
        ))
        COLLOCATIONS = frozenset((
            ('##number##','abreast'),('b','smith'),
        ))
        NUMERIC_ABBREV_TYPES = frozenset((
        ))
        ORTHO_CONTEXT = {
            'the':98,'zurich':4,
        }
        """

    @Test func readsTheLiteralFormat() throws {
        let p = try Self.load(Self.minimal)
        #expect(p.abbreviations == ["dr", "u.s", ". . ", "it's", "café", "été"])
        #expect(p.sentenceStarters.isEmpty)
        #expect(p.collocations == [.init("##number##", "abreast"), .init("b", "smith")])
        #expect(p.orthographicContext == ["the": 98, "zurich": 4])
    }

    /// Every error names the file, the line and what was expected.
    @Test(arguments: [
        ("ORTHO_CONTEXT = {\n    'the':98,\n    'a' 3,\n}\n", "expected ':' after a dict key", ":3:"),
        ("ABBREV_TYPES = frozenset(('dr', x))\n", "expected a literal", ":1:"),
        (
            "ABBREV_TYPES = frozenset(('dr',))\nSENT_STARTERS = frozenset(())\nCOLLOCATIONS = frozenset((('a','b'),))\n",
            "no ORTHO_CONTEXT", ".py"
        ),
        (
            "ABBREV_TYPES = frozenset((1,))\nSENT_STARTERS = frozenset(())\nCOLLOCATIONS = frozenset(())\nORTHO_CONTEXT = {}\n",
            "must hold only strings", ":1:"
        ),
        ("ABBREV_TYPES = frozenset(('a\\qb',))\n", "unsupported escape", ":1:"),
        ("ABBREV_TYPES = frozenset(('dr',)) extra\n", "expected the end of the statement", ":1:"),
        ("X = 'never closed\n", "runs past the end of the line", ":1:"),
    ])
    func rejectsAnythingElse(source: String, message: String, location: String) {
        do {
            _ = try Self.load(source)
            Issue.record("accepted an invalid model: \(source.debugDescription)")
        } catch let error as TokenizerError {
            #expect(error.description.contains(message), "\(error)")
            #expect(error.description.contains(location), "\(error)")
            #expect(error.description.contains("punkt-"), "the error names the file: \(error)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test func missingFileIsAnError() {
        #expect(throws: TokenizerError.self) { try PunktParameters(pythonFile: "/nonexistent/english.py") }
    }
}

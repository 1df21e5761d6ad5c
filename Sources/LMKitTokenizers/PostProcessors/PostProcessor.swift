/// The fourth stage of a tokenizer: adds the model's special tokens around the encoded text(s) and
/// sets token types, from a template (`[CLS] $A [SEP]`, pair: `[CLS] $A [SEP] $B:1 [SEP]:1`).
/// `BertProcessing` and `RobertaProcessing` are read as the templates they stand for.
struct TemplatePostProcessor: Sendable {
    enum Item: Sendable, Equatable {
        case sequence(first: Bool, typeId: Int)
        case special(name: String, typeId: Int)
    }

    let single: [Item]
    let pair: [Item]
    /// Special-token names → their ids and token strings.
    let specials: [String: (ids: [Int], tokens: [String])]
    /// Offsets exclude the spaces a byte-level token carries (`trim_offsets`)...
    let trimOffsets: Bool
    /// ...except the one space put in front of the first word (`add_prefix_space`).
    var addPrefixSpace: Bool = false

    /// Number of tokens the template adds around one text (`pair: false`) or two.
    func addedCount(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, item in
            if case .special(let name, _) = item { return n + (specials[name]?.ids.count ?? 0) }
            return n
        }
    }

    func apply(_ a: Encoding, _ b: Encoding?) -> Encoding {
        var out = Encoding()
        for item in (b == nil ? single : pair) {
            switch item {
            case .sequence(let first, let typeId):
                guard var part = first ? a : b else { continue }
                part.typeIds = Array(repeating: typeId, count: part.count)
                out.append(contentsOf: part)
            case .special(let name, let typeId):
                guard let s = specials[name] else { continue }
                for (id, token) in zip(s.ids, s.tokens) {
                    out.append(id: id, token: token, offset: 0..<0, typeId: typeId, special: true, sequence: nil)
                }
            }
        }
        return out
    }

    static func bert(cls: (String, Int), sep: (String, Int)) -> TemplatePostProcessor {
        TemplatePostProcessor(
            single: [.special(name: cls.0, typeId: 0), .sequence(first: true, typeId: 0), .special(name: sep.0, typeId: 0)],
            pair: [
                .special(name: cls.0, typeId: 0), .sequence(first: true, typeId: 0), .special(name: sep.0, typeId: 0),
                .sequence(first: false, typeId: 1), .special(name: sep.0, typeId: 1),
            ],
            specials: [cls.0: ([cls.1], [cls.0]), sep.0: ([sep.1], [sep.0])], trimOffsets: false)
    }

    static func make(_ o: JSONObject) throws(TokenizerError) -> TemplatePostProcessor? {
        func pairOf(_ key: String) throws(TokenizerError) -> (String, Int) {
            guard let a = o.dict[key] as? [Any], a.count == 2, let s = a[0] as? String, let n = a[1] as? Int else {
                throw TokenizerError("\(o.path).\(key): expected [token, id]")
            }
            return (s, n)
        }
        switch o.type {
        case "BertProcessing":
            return .bert(cls: try pairOf("cls"), sep: try pairOf("sep"))
        case "RobertaProcessing":
            let cls = try pairOf("cls"), sep = try pairOf("sep")
            return TemplatePostProcessor(
                single: [.special(name: cls.0, typeId: 0), .sequence(first: true, typeId: 0), .special(name: sep.0, typeId: 0)],
                pair: [
                    .special(name: cls.0, typeId: 0), .sequence(first: true, typeId: 0), .special(name: sep.0, typeId: 0),
                    .special(name: sep.0, typeId: 0), .sequence(first: false, typeId: 0), .special(name: sep.0, typeId: 0),
                ],
                specials: [cls.0: ([cls.1], [cls.0]), sep.0: ([sep.1], [sep.0])],
                trimOffsets: try o.bool("trim_offsets", default: true), addPrefixSpace: try o.bool("add_prefix_space", default: true))
        case "ByteLevel":
            return TemplatePostProcessor(
                single: [.sequence(first: true, typeId: 0)],
                pair: [.sequence(first: true, typeId: 0), .sequence(first: false, typeId: 1)],
                specials: [:], trimOffsets: try o.bool("trim_offsets", default: true),
                addPrefixSpace: try o.bool("add_prefix_space", default: true))
        case "TemplateProcessing":
            func items(_ key: String) throws(TokenizerError) -> [Item] {
                var out: [Item] = []
                for (i, v) in try o.array(key).enumerated() {
                    let item = try JSONObject(v, path: "\(o.path).\(key)[\(i)]")
                    if let s = item.dict["SpecialToken"] {
                        let so = try JSONObject(s, path: item.path + ".SpecialToken")
                        out.append(.special(name: try so.string("id"), typeId: try so.int("type_id", default: 0)!))
                    } else if let s = item.dict["Sequence"] {
                        let so = try JSONObject(s, path: item.path + ".Sequence")
                        let id = try so.string("id")
                        guard id == "A" || id == "B" else { throw TokenizerError("\(so.path).id: expected \"A\" or \"B\"") }
                        out.append(.sequence(first: id == "A", typeId: try so.int("type_id", default: 0)!))
                    } else {
                        throw TokenizerError("\(item.path): expected SpecialToken or Sequence")
                    }
                }
                return out
            }
            var specials: [String: (ids: [Int], tokens: [String])] = [:]
            let st = try o.object("special_tokens")
            for (name, v) in st.dict {
                let so = try JSONObject(v, path: "\(st.path).\(name)")
                guard let ids = so.dict["ids"] as? [Int], let tokens = so.dict["tokens"] as? [String] else {
                    throw TokenizerError("\(so.path): expected ids and tokens arrays")
                }
                specials[name] = (ids, tokens)
            }
            return TemplatePostProcessor(single: try items("single"), pair: try items("pair"), specials: specials, trimOffsets: false)
        case "Sequence":
            // A sequence of a ByteLevel offset trimmer and a template is how Llama 3 files add <bos>.
            var result: TemplatePostProcessor? = nil
            var trim = false
            for p in try o.objects("processors") {
                guard let made = try make(p) else { continue }
                if made.specials.isEmpty && made.single == [.sequence(first: true, typeId: 0)] { trim = trim || made.trimOffsets; continue }
                result = made
            }
            if let r = result {
                return TemplatePostProcessor(single: r.single, pair: r.pair, specials: r.specials, trimOffsets: trim || r.trimOffsets)
            }
            return TemplatePostProcessor(
                single: [.sequence(first: true, typeId: 0)], pair: [.sequence(first: true, typeId: 0), .sequence(first: false, typeId: 1)],
                specials: [:], trimOffsets: trim)
        default:
            throw o.unsupported("post-processor type \(o.type.map { "\"\($0)\"" } ?? "(none)")")
        }
    }
}

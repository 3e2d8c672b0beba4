import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
/// Readers for the stages of a HF tokenizers `tokenizer.json` ("normalizer", "pre_tokenizer",
/// "model", "post_processor", "added_tokens"). Each returns our stage value or throws a typed error
/// naming the field.
enum TokenizerJSON {
    static let file = "tokenizer.json"
    /// Cap on vocabulary entries (rule 1: caps on every length).
    static let maxVocabularySize = 4_000_000

    static func type(of value: JSONValue, field: String) throws -> String {
        guard let t = value["type"]?.stringValue else {
            throw TokenizerError.invalidField(file: file, field: "\(field).type", reason: "missing or not a string")
        }
        return t
    }

    static func bool(_ value: JSONValue, _ key: String, default def: Bool, field: String) throws -> Bool {
        guard let v = value[key], !v.isNull else { return def }
        guard let b = v.boolValue else {
            throw TokenizerError.invalidField(file: file, field: "\(field).\(key)", reason: "not a boolean")
        }
        return b
    }

    static func string(_ value: JSONValue, _ key: String, field: String) throws -> String {
        guard let s = value[key]?.stringValue else {
            throw TokenizerError.invalidField(file: file, field: "\(field).\(key)", reason: "missing or not a string")
        }
        return s
    }

    // MARK: normalizer

    static func normalizer(_ value: JSONValue?, field: String = "normalizer") throws -> Normalizer? {
        guard let value, !value.isNull else { return nil }
        let t = try type(of: value, field: field)
        switch t {
        case "BertNormalizer":
            let lowercase = try bool(value, "lowercase", default: true, field: field)
            let strip: Bool
            if let s = value["strip_accents"], !s.isNull {
                guard let b = s.boolValue else {
                    throw TokenizerError.invalidField(file: file, field: "\(field).strip_accents", reason: "not a boolean or null")
                }
                strip = b
            } else {
                strip = lowercase
            }
            return .bert(cleanText: try bool(value, "clean_text", default: true, field: field),
                         handleChineseChars: try bool(value, "handle_chinese_chars", default: true, field: field),
                         stripAccents: strip, lowercase: lowercase)
        case "Lowercase": return .lowercase
        case "NFD": return .nfd
        case "NFC": return .nfc
        case "NFKD": return .nfkd
        case "NFKC": return .nfkc
        case "StripAccents": return .stripAccents
        case "Strip":
            return .strip(left: try bool(value, "strip_left", default: true, field: field),
                          right: try bool(value, "strip_right", default: true, field: field))
        case "Replace":
            guard let pattern = value["pattern"] else {
                throw TokenizerError.invalidField(file: file, field: "\(field).pattern", reason: "missing")
            }
            let content = try string(value, "content", field: field)
            if let literal = pattern["String"]?.stringValue {
                return .replace(pattern: Array(literal.unicodeScalars), content: Array(content.unicodeScalars))
            }
            guard let regex = pattern["Regex"]?.stringValue else {
                throw TokenizerError.invalidField(file: file, field: "\(field).pattern", reason: "expected {\"String\": ...} or {\"Regex\": ...}")
            }
            if regex == Normalizer.collapseWhitespacePattern { return .collapseWhitespace(content: Array(content.unicodeScalars)) }
            guard let repeated = RepeatPattern.parse(regex) else {
                throw TokenizerError.unsupportedComponent(kind: "normalizer", type: "Replace (Regex pattern \(regex.debugDescription))")
            }
            return .replaceRepeat(repeated, content: Array(content.unicodeScalars))
        case "Prepend":
            return .prepend(Array(try string(value, "prepend", field: field).unicodeScalars))
        case "Precompiled":
            let f = "\(field).precompiled_charsmap"
            guard let text = value["precompiled_charsmap"]?.stringValue else {
                throw TokenizerError.invalidField(file: file, field: f, reason: "missing or not a string")
            }
            return .precompiled(try PrecompiledCharsMap(base64: text, field: f))
        case "Sequence":
            guard let items = value["normalizers"]?.arrayValue else {
                throw TokenizerError.invalidField(file: file, field: "\(field).normalizers", reason: "missing or not an array")
            }
            var stages: [Normalizer] = []
            for (i, item) in items.enumerated() {
                if let stage = try normalizer(item, field: "\(field).normalizers[\(i)]") { stages.append(stage) }
            }
            return .sequence(stages)
        default:
            throw TokenizerError.unsupportedComponent(kind: "normalizer", type: t)
        }
    }

    // MARK: pre-tokenizer

    static func preTokenizer(_ value: JSONValue?, field: String = "pre_tokenizer") throws -> PreTokenizer? {
        guard let value, !value.isNull else { return nil }
        let t = try type(of: value, field: field)
        switch t {
        case "BertPreTokenizer": return .bert
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try bool(value, "add_prefix_space", default: true, field: field),
                              useRegex: try bool(value, "use_regex", default: true, field: field))
        case "Metaspace":
            let replacement = try string(value, "replacement", field: field)
            let scalars = Array(replacement.unicodeScalars)
            guard scalars.count == 1 else {
                throw TokenizerError.invalidField(file: file, field: "\(field).replacement", reason: "not a single character")
            }
            // tokenizers 0.23: prepend_scheme defaults to always; a legacy add_prefix_space false is accepted only
            // together with prepend_scheme "never" (otherwise deserialization fails).
            var scheme = PreTokenizer.PrependScheme.always
            if let p = value["prepend_scheme"], !p.isNull {
                guard let name = p.stringValue, let parsed = PreTokenizer.PrependScheme(rawValue: name) else {
                    throw TokenizerError.invalidField(file: file, field: "\(field).prepend_scheme", reason: "not \"always\", \"first\" or \"never\"")
                }
                scheme = parsed
            }
            if try !bool(value, "add_prefix_space", default: true, field: field) && scheme != .never {
                throw TokenizerError.invalidField(file: file, field: "\(field).add_prefix_space",
                                                  reason: "false does not match prepend_scheme \"\(scheme.rawValue)\"")
            }
            return .metaspace(replacement: scalars[0], prependScheme: scheme,
                              split: try bool(value, "split", default: true, field: field))
        case "Split":
            // Only Qwen2's pattern, isolated, not inverted: the regex is matched by hand (Qwen2Split).
            let pattern = value["pattern"]?["Regex"]?.stringValue
            let behavior = value["behavior"]?.stringValue, invert = value["invert"]?.boolValue ?? false
            guard pattern == Qwen2Split.pattern, behavior == SplitBehavior.isolated.rawValue, !invert else {
                throw TokenizerError.unsupportedComponent(kind: "pre_tokenizer", type: "Split")
            }
            return .qwen2Split
        case "Punctuation":
            var behavior = SplitBehavior.isolated
            if let b = value["behavior"], !b.isNull {
                guard let s = b.stringValue, let parsed = SplitBehavior(rawValue: s) else {
                    throw TokenizerError.invalidField(file: file, field: "\(field).behavior", reason: "unknown split behavior")
                }
                behavior = parsed
            }
            return .punctuation(behavior)
        case "Sequence":
            guard let items = value["pretokenizers"]?.arrayValue else {
                throw TokenizerError.invalidField(file: file, field: "\(field).pretokenizers", reason: "missing or not an array")
            }
            var stages: [PreTokenizer] = []
            for (i, item) in items.enumerated() {
                if let stage = try preTokenizer(item, field: "\(field).pretokenizers[\(i)]") { stages.append(stage) }
            }
            return .sequence(stages)
        default:
            throw TokenizerError.unsupportedComponent(kind: "pre_tokenizer", type: t)
        }
    }

    // MARK: model

    struct WordPieceFields {
        var vocab: VocabularyEntries
        var unkToken: String
        var continuingSubwordPrefix: String
        var maxInputCharsPerWord: Int
    }

    /// The "model" section's type: explicit, or, in old untyped files, WordPiece when it has WordPiece's fields.
    static func modelType(_ value: JSONValue?) throws -> String {
        guard let value, value.objectMembers != nil else {
            throw TokenizerError.invalidField(file: file, field: "model", reason: "missing or not an object")
        }
        if let t = value["type"]?.stringValue {
            guard ["WordPiece", "BPE", "Unigram"].contains(t) else { throw TokenizerError.unsupportedComponent(kind: "model", type: t) }
            return t
        }
        if value["merges"] != nil || value["max_input_chars_per_word"] == nil {
            throw TokenizerError.unsupportedComponent(kind: "model", type: "untyped non-WordPiece")
        }
        return "WordPiece"
    }

    /// The "model" section as WordPiece; `deferred`: its vocabulary's bytes, when the parse left it unbuilt.
    static func wordPiece(_ value: JSONValue?, deferred: DeferredVocabulary? = nil) throws -> WordPieceFields {
        guard try modelType(value) == "WordPiece", let value else {
            throw TokenizerError.unsupportedComponent(kind: "model", type: value?["type"]?.stringValue ?? "untyped")
        }
        let vocab = try deferred.map { try vocabularyEntries($0, field: "model.vocab") }
            ?? vocabularyEntries(value["vocab"], field: "model.vocab")
        let unk = value["unk_token"]?.stringValue ?? "[UNK]"
        let prefix = value["continuing_subword_prefix"]?.stringValue ?? "##"
        var maxChars = 100
        if let m = value["max_input_chars_per_word"], !m.isNull {
            guard let v = m.int64Value, v >= 0 else {
                throw TokenizerError.invalidField(file: file, field: "model.max_input_chars_per_word", reason: "not a non-negative integer")
            }
            maxChars = Int(clamping: v)
        }
        return WordPieceFields(vocab: vocab, unkToken: unk, continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars)
    }

    static func optionalString(_ value: JSONValue, _ key: String, field: String) throws -> String? {
        guard let v = value[key], !v.isNull else { return nil }
        guard let s = v.stringValue else {
            throw TokenizerError.invalidField(file: file, field: "\(field).\(key)", reason: "not a string or null")
        }
        return s
    }

    /// `model.merges`: `["a b", ...]` (split at the first space, as tokenizers' legacy form) or `[["a", "b"], ...]`.
    static func merges(_ value: JSONValue?, field: String) throws -> [(String, String)] {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "not an array")
        }
        guard items.count <= maxVocabularySize else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "more than \(maxVocabularySize) entries")
        }
        var out: [(String, String)] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            if let text = item.stringValue {
                guard let space = text.utf8.firstIndex(of: UInt8(ascii: " ")) else {
                    throw TokenizerError.invalidField(file: file, field: "\(field)[\(i)]", reason: "a merge string needs a space")
                }
                let a = String(decoding: text.utf8[..<space], as: UTF8.self)
                let b = String(decoding: text.utf8[text.utf8.index(after: space)...], as: UTF8.self)
                out.append((a, b))
            } else if let pair = item.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                out.append((a, b))
            } else {
                throw TokenizerError.invalidField(file: file, field: "\(field)[\(i)]", reason: "expected \"a b\" or [a, b]")
            }
        }
        return out
    }

    /// The "model" section as BPE. `dropout` must be null or 0: sampled merges are not reproducible.
    static func bpe(_ value: JSONValue) throws -> BPE {
        let field = "model"
        if let d = value["dropout"], !d.isNull {
            guard let p = d.doubleValue else {
                throw TokenizerError.invalidField(file: file, field: "model.dropout", reason: "not a number or null")
            }
            if p != 0 { throw TokenizerError.unsupportedComponent(kind: "model", type: "BPE with dropout \(p)") }
        }
        let vocab = try vocabulary(value["vocab"], field: "model.vocab")
        return try BPE(vocab: vocab, merges: try merges(value["merges"], field: "model.merges"),
                       unkToken: try optionalString(value, "unk_token", field: field),
                       fuseUnk: try bool(value, "fuse_unk", default: false, field: field),
                       byteFallback: try bool(value, "byte_fallback", default: false, field: field),
                       ignoreMerges: try bool(value, "ignore_merges", default: false, field: field),
                       continuingSubwordPrefix: try optionalString(value, "continuing_subword_prefix", field: field),
                       endOfWordSuffix: try optionalString(value, "end_of_word_suffix", field: field))
    }

    /// `[[piece, score], ...]` of a Unigram model.
    static func unigramPieces(_ value: JSONValue?, field: String) throws -> [(bytes: [UInt8], score: Double)] {
        guard let items = value?.arrayValue else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "missing or not an array")
        }
        guard items.count <= maxVocabularySize else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "more than \(maxVocabularySize) entries")
        }
        var out: [(bytes: [UInt8], score: Double)] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let pair = item.arrayValue, pair.count == 2, let piece = pair[0].stringValue, let score = pair[1].doubleValue,
                  score.isFinite else {
                throw TokenizerError.invalidField(file: file, field: "\(field)[\(i)]", reason: "expected [piece, finite score]")
            }
            guard piece.utf8.count <= Unigram.maxPieceBytes else {
                throw TokenizerError.invalidField(file: file, field: "\(field)[\(i)]",
                                                  reason: "a piece of \(piece.utf8.count) bytes, above the limit of \(Unigram.maxPieceBytes)")
            }
            out.append((Array(piece.utf8), score))
        }
        return out
    }

    /// The "model" section as Unigram.
    static func unigram(_ value: JSONValue) throws -> Unigram {
        var unkID: Int? = nil
        if let u = value["unk_id"], !u.isNull {
            guard let id = u.int64Value, id >= 0, id <= Int64(Int32.max) else {
                throw TokenizerError.invalidField(file: file, field: "model.unk_id", reason: "not a non-negative integer")
            }
            unkID = Int(id)
        }
        return try Unigram(pieces: try unigramPieces(value["vocab"], field: "model.vocab"), unkID: unkID,
                           byteFallback: try bool(value, "byte_fallback", default: false, field: "model"))
    }

    /// `{"token": id, ...}`; later duplicates of a key win, as with serde into a HashMap.
    static func vocabulary(_ value: JSONValue?, field: String) throws -> [ByteString: Int32] {
        var vocab: [ByteString: Int32] = [:]
        try forEachVocabularyEntry(value, field: field, reserve: { vocab.reserveCapacity($0) }) { vocab[ByteString($0)] = $1 }
        return vocab
    }

    /// The same entries in file order, without keying them (WordPiece builds its trie from these).
    static func vocabularyEntries(_ value: JSONValue?, field: String) throws -> VocabularyEntries {
        var entries = VocabularyEntries()
        try forEachVocabularyEntry(value, field: field, reserve: { entries = VocabularyEntries(reservingCapacity: $0, bytes: 8 * $0) }) {
            entries.append($0, id: $1)
        }
        return entries
    }

    /// The same from the vocabulary's unparsed bytes: no String or tree node per entry.
    static func vocabularyEntries(_ deferred: DeferredVocabulary, field: String) throws -> VocabularyEntries {
        guard deferred.isObject else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "missing or not an object")
        }
        // About 15 bytes of JSON per entry in published vocabularies ("token": id,).
        var entries = VocabularyEntries(reservingCapacity: deferred.range.count / 12, bytes: deferred.range.count / 2)
        do {
            try deferred.data.withUnsafeBytes { buffer in
                try JSONParser.forEachMember(buffer, range: deferred.range, maxDepth: 254) { key, value in
                    guard entries.count < maxVocabularySize else {
                        throw TokenizerError.invalidField(file: file, field: field, reason: "more than \(maxVocabularySize) entries")
                    }
                    guard let id = value.int64Value else {
                        throw TokenizerError.invalidField(file: file, field: "\(field).\(String(decoding: key, as: UTF8.self))",
                                                          reason: "id is not an integer")
                    }
                    guard id >= 0 && id <= Int64(Int32.max) else {
                        throw TokenizerError.idOutOfRange(token: String(decoding: key, as: UTF8.self), id: id)
                    }
                    entries.append(bytes: key, id: Int32(id))
                }
            }
        } catch let e as JSONError {
            throw TokenizerError.invalidJSON(file: deferred.file, reason: e.description)
        }
        return entries
    }

    /// vocab.json (`{"token": id}`), as tokenizers' `BPE::read_file` reads it: entries whose value is not a number are
    /// skipped, later duplicates win.
    static func vocabularyFile(_ data: Data) throws -> [ByteString: Int32] {
        let json = try JSONValue.parse(data, file: "vocab.json")
        var vocab: [ByteString: Int32] = [:]
        try forEachVocabularyEntry(json, field: "(top level)", file: "vocab.json", skipNonNumbers: true,
                                   reserve: { vocab.reserveCapacity($0) }) { vocab[ByteString($0)] = $1 }
        return vocab
    }

    /// merges.txt, as tokenizers' `BPE::read_file` reads it: UTF-8 lines (the last "\n" of each, and a "\r" before
    /// it, removed), lines starting with "#version" skipped, every other line exactly two tokens split at one space.
    static func mergesFile(_ data: Data) throws -> [(String, String)] {
        let file = "merges.txt"
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TokenizerError.invalidField(file: file, field: "(bytes)", reason: "invalid UTF-8")
        }
        // Byte-wise, as Rust's BufRead::lines and str::starts_with.
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A final "\n" ends the last line rather than starting an empty one; an empty file has no lines.
        let terminated = text.utf8.last == UInt8(ascii: "\n")
        if terminated || text.isEmpty { lines.removeLast() }
        var out: [(String, String)] = []
        var rank = 0
        for (i, raw) in lines.enumerated() {
            var line = raw
            if terminated || i < lines.count - 1, line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.starts(with: "#version".utf8) { continue }
            rank += 1
            guard rank <= maxVocabularySize else {
                throw TokenizerError.invalidField(file: file, field: "(lines)", reason: "more than \(maxVocabularySize) merges")
            }
            let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.invalidField(file: file, field: "merge \(rank)", reason: "not two tokens separated by one space")
            }
            out.append((String(Substring(parts[0])), String(Substring(parts[1]))))
        }
        return out
    }

    private static func forEachVocabularyEntry(_ value: JSONValue?, field: String, file: String = file, skipNonNumbers: Bool = false,
                                               reserve: (Int) -> Void, _ body: (String, Int32) -> Void) throws {
        guard let members = value?.objectMembers else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "missing or not an object")
        }
        guard members.count <= maxVocabularySize else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "more than \(maxVocabularySize) entries")
        }
        reserve(members.count)
        for (token, idValue) in members {
            if skipNonNumbers && idValue.numberValue == nil { continue }
            guard let id = idValue.int64Value else {
                throw TokenizerError.invalidField(file: file, field: "\(field).\(token)", reason: "id is not an integer")
            }
            guard id >= 0 && id <= Int64(Int32.max) else { throw TokenizerError.idOutOfRange(token: token, id: id) }
            body(token, Int32(id))
        }
    }

    // MARK: added tokens

    /// One `added_tokens` entry: `{"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"}`.
    static func addedToken(_ value: JSONValue, field: String, file: String = file) throws -> AddedToken {
        guard value.objectMembers != nil else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "not an object")
        }
        guard let content = value["content"]?.stringValue else {
            throw TokenizerError.invalidField(file: file, field: "\(field).content", reason: "missing or not a string")
        }
        func flag(_ key: String, _ def: Bool) throws -> Bool {
            guard let v = value[key], !v.isNull else { return def }
            guard let b = v.boolValue else {
                throw TokenizerError.invalidField(file: file, field: "\(field).\(key)", reason: "not a boolean")
            }
            return b
        }
        let special = try flag("special", false)
        return AddedToken(content: content, singleWord: try flag("single_word", false),
                          lstrip: try flag("lstrip", false), rstrip: try flag("rstrip", false),
                          normalized: try flag("normalized", !special), special: special)
    }

    static func addedTokens(_ value: JSONValue?) throws -> [(id: Int64, token: AddedToken)] {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else {
            throw TokenizerError.invalidField(file: file, field: "added_tokens", reason: "not an array")
        }
        var out: [(id: Int64, token: AddedToken)] = []
        for (i, item) in items.enumerated() {
            let token = try addedToken(item, field: "added_tokens[\(i)]")
            guard let id = item["id"]?.int64Value else {
                throw TokenizerError.invalidField(file: file, field: "added_tokens[\(i)].id", reason: "missing or not an integer")
            }
            out.append((id, token))
        }
        return out
    }

    // MARK: post-processor

    static func postProcessor(_ value: JSONValue?) throws -> PostProcessor {
        guard let value, !value.isNull else { return .none }
        let field = "post_processor"
        let t = try type(of: value, field: field)
        switch t {
        case "TemplateProcessing":
            var specials: [ByteString: [Int32]] = [:]
            if let members = value["special_tokens"]?.objectMembers {
                for (name, entry) in members {
                    guard let ids = entry["ids"]?.arrayValue else {
                        throw TokenizerError.invalidField(file: file, field: "\(field).special_tokens.\(name).ids", reason: "missing or not an array")
                    }
                    var resolved: [Int32] = []
                    for idValue in ids {
                        guard let id = idValue.int64Value else {
                            throw TokenizerError.invalidField(file: file, field: "\(field).special_tokens.\(name).ids", reason: "not an integer")
                        }
                        guard id >= 0 && id <= Int64(Int32.max) else { throw TokenizerError.idOutOfRange(token: name, id: id) }
                        resolved.append(Int32(id))
                    }
                    // Template pieces look the special token up by this map key.
                    specials[ByteString(name)] = resolved
                }
            }
            let single = try template(value["single"], field: "\(field).single", specials: specials)
            let pair = try template(value["pair"], field: "\(field).pair", specials: specials)
            return PostProcessor(single: single, pair: pair)
        case "RobertaProcessing":
            let sep = try idPair(value["sep"], field: "\(field).sep")
            let cls = try idPair(value["cls"], field: "\(field).cls")
            return .roberta(clsID: cls, sepID: sep)
        case "BertProcessing":
            let sep = try idPair(value["sep"], field: "\(field).sep")
            let cls = try idPair(value["cls"], field: "\(field).cls")
            return .bert(clsID: cls, sepID: sep)
        case "ByteLevel":
            // Only trims offsets; ids and type ids are those of the default concatenation.
            return .none
        case "Sequence":
            // ByteLevel members change offsets only; one id-changing member is supported.
            guard let items = value["processors"]?.arrayValue else {
                throw TokenizerError.invalidField(file: file, field: "\(field).processors", reason: "missing or not an array")
            }
            let active = items.filter { $0["type"]?.stringValue != "ByteLevel" }
            if active.isEmpty { return .none }
            guard active.count == 1 else {
                throw TokenizerError.unsupportedComponent(kind: "post_processor", type: "Sequence of \(active.count) processors")
            }
            return try postProcessor(active[0])
        default:
            throw TokenizerError.unsupportedComponent(kind: "post_processor", type: t)
        }
    }

    static func idPair(_ value: JSONValue?, field: String) throws -> Int32 {
        guard let items = value?.arrayValue, items.count == 2, let name = items[0].stringValue,
              let id = items[1].int64Value else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "expected [token, id]")
        }
        guard id >= 0 && id <= Int64(Int32.max) else { throw TokenizerError.idOutOfRange(token: name, id: id) }
        return Int32(id)
    }

    static func template(_ value: JSONValue?, field: String, specials: [ByteString: [Int32]]) throws -> [TemplatePiece] {
        guard let items = value?.arrayValue else {
            throw TokenizerError.invalidField(file: file, field: field, reason: "missing or not an array")
        }
        var pieces: [TemplatePiece] = []
        for (i, item) in items.enumerated() {
            let f = "\(field)[\(i)]"
            if let seq = item["Sequence"] {
                guard let which = seq["id"]?.stringValue, which == "A" || which == "B" else {
                    throw TokenizerError.invalidField(file: file, field: "\(f).Sequence.id", reason: "expected \"A\" or \"B\"")
                }
                pieces.append(.sequence(second: which == "B", typeID: try typeID(seq, field: "\(f).Sequence")))
            } else if let special = item["SpecialToken"] {
                guard let name = special["id"]?.stringValue else {
                    throw TokenizerError.invalidField(file: file, field: "\(f).SpecialToken.id", reason: "missing or not a string")
                }
                guard let ids = specials[ByteString(name)] else { throw TokenizerError.missingSpecialToken(token: name) }
                pieces.append(.special(ids: ids, typeID: try typeID(special, field: "\(f).SpecialToken")))
            } else {
                throw TokenizerError.invalidField(file: file, field: f, reason: "expected Sequence or SpecialToken")
            }
        }
        return pieces
    }

    static func typeID(_ value: JSONValue, field: String) throws -> Int32 {
        guard let v = value["type_id"], !v.isNull else { return 0 }
        guard let id = v.int64Value, id >= 0, id <= Int64(Int32.max) else {
            throw TokenizerError.invalidField(file: file, field: "\(field).type_id", reason: "not a non-negative integer")
        }
        return Int32(id)
    }

    /// `truncation.direction` ("Left" / "Right"), when a truncation section is present.
    static func truncationDirection(_ value: JSONValue?) -> String? {
        guard let value, !value.isNull else { return nil }
        return value["direction"]?.stringValue ?? "Right"
    }
}

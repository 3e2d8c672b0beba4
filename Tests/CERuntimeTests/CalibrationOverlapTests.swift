import CEQuant
import CETestSupport
import Foundation
import XCTest

/// The built-in calibration set shares no text with any golden input (formats/quantization.md): int8 figures
/// measured on the goldens are then measured on text the conversion never saw. The rule is golden/make_calibration.py's
/// `shares_text`: a sentence of at least 25 characters in common, or one text containing the other.
final class CalibrationOverlapTests: XCTestCase {
    static let minSentence = 25

    static func normalized(_ s: String) -> String { s.split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    /// Sentences of the normalized text: a cut after `.`, `!` or `?` followed by a space.
    static func sentences(_ s: String) -> Set<String> {
        var out = Set<String>(), current = ""
        let chars = Array(normalized(s))
        for (i, c) in chars.enumerated() {
            if c == " ", i > 0, ".!?".contains(chars[i - 1]) {
                if current.count >= minSentence { out.insert(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if current.count >= minSentence { out.insert(current) }
        return out
    }

    /// Whether `needle`'s UTF-8 bytes occur in `haystack`'s (String.contains compares by Character, far slower).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return needle.isEmpty }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                for i in 0...(h.count - n.count) where h[i] == first {
                    if memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return true }
                }
                return false
            }
        }
    }

    /// The text fields of a golden input record, as make_calibration.py reads them.
    static func strings(_ v: Any, key: String? = nil) -> [String] {
        if let k = key, ["id", "kind", "source", "relevance", "label", "score"].contains(k) { return [] }
        switch v {
        case let s as String: return [s]
        case let a as [Any]: return a.flatMap { strings($0) }
        case let d as [String: Any]: return d.flatMap { strings($0.value, key: $0.key) }
        default: return []
        }
    }

    func goldenTexts() throws -> [String] {
        let root = repositoryRoot()
        var files = ["golden/inputs/pairs.jsonl", "golden/inputs/rr_lists.jsonl"].map { root.appendingPathComponent($0) }
        let eval = root.appendingPathComponent("golden/eval/data")
        files += try FileManager.default.contentsOfDirectory(atPath: eval.path).filter { $0.hasSuffix(".jsonl") }.sorted()
            .map { eval.appendingPathComponent($0) }
        var texts: [String] = []
        for f in files {
            for line in try String(contentsOf: f, encoding: .utf8).split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
                texts += Self.strings(try JSONSerialization.jsonObject(with: Data(line.utf8)))
            }
        }
        let seed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("golden/inputs/seed.json"))) as? [String: Any])
        texts.append(try XCTUnwrap(seed["query"] as? String))
        texts += try XCTUnwrap(seed["documents"] as? [String])
        return texts
    }

    func testCalibrationSharesNoTextWithGoldenInputs() throws {
        let gold = try goldenTexts()
        XCTAssertGreaterThan(gold.count, 1000, "golden inputs read")
        let goldSentences = gold.reduce(into: Set<String>()) { $0.formUnion(Self.sentences($1)) }
        let whole = gold.map(Self.normalized).filter { $0.count >= Self.minSentence }.map { Array($0.utf8) }
        var overlapping: [String] = []
        for (q, d) in Calibration.defaultPairs {
            for t in [q, d] {
                let n = Self.normalized(t)
                let bytes = Array(n.utf8)
                if !Self.sentences(t).isDisjoint(with: goldSentences)
                    || (n.count >= Self.minSentence && whole.contains { Self.contains($0, bytes) || Self.contains(bytes, $0) }) {
                    overlapping.append(String(n.prefix(80)))
                }
            }
        }
        XCTAssertEqual(overlapping, [], "\(overlapping.count) calibration texts share text with a golden input")
    }

    /// The rule itself finds shared text: a golden sentence inside a longer calibration passage.
    func testOverlapRuleFindsASharedSentence() throws {
        let gold = try goldenTexts()
        let sentence = try XCTUnwrap(gold.lazy.flatMap { Self.sentences($0) }.first)
        let passage = "A passage written for this test, long enough to count. " + sentence + " And a last sentence of its own here."
        XCTAssertFalse(Self.sentences(passage).isDisjoint(with: Self.sentences(gold.first { Self.sentences($0).contains(sentence) }!)))
    }
}

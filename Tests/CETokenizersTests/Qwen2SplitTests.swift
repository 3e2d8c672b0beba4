import CECore
import Foundation
import XCTest
@testable import CETokenizers

/// Qwen2's Split pre-tokenizer (Qwen2Split, matched by hand) against what the tokenizers library's onig regex makes
/// of the same texts (golden/qwen2-split.json, golden/make_models_qwen3.py split), and the Qwen2Tokenizer class
/// resolution. Token ids end to end are golden/tokenizers/tiny-qwen3.json's (GoldenCorpusTests).
final class Qwen2SplitTests: XCTestCase {
    static let root = GoldenCorpusTests.repoRoot

    func testSplitMatchesTheTokenizersLibrary() throws {
        let doc = try JSONValue.parse(Data(contentsOf: Self.root.appendingPathComponent("golden/qwen2-split.json")), file: "qwen2-split.json")
        XCTAssertEqual(doc["pattern"]?.stringValue, Qwen2Split.pattern)
        let cases = try XCTUnwrap(doc["cases"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 60)
        for c in cases {
            let text = try XCTUnwrap(c["text"]?.stringValue)
            let expected = try XCTUnwrap(c["words"]?.arrayValue).compactMap { (w: JSONValue) in w.stringValue }
            let scalars = Array(text.unicodeScalars)
            let words = PreTokenizer.qwen2Split.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
            XCTAssertEqual(words, expected, displayEscaped(text))
        }
    }

    /// tokenizer.json's Split is accepted for Qwen2's pattern only; any other regex is refused by name.
    func testOtherSplitPatternsAreRefused() throws {
        let qwen: JSONValue = .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(Qwen2Split.pattern))])),
                                       ("behavior", .string("Isolated")), ("invert", .bool(false))])
        XCTAssertEqual(try TokenizerJSON.preTokenizer(qwen), .qwen2Split)
        let other: JSONValue = .object([("type", .string("Split")), ("pattern", .object([("Regex", .string("\\s+"))])),
                                        ("behavior", .string("Isolated")), ("invert", .bool(false))])
        XCTAssertThrowsError(try TokenizerJSON.preTokenizer(other)) { e in
            guard case TokenizerError.unsupportedComponent(let kind, _)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(kind, "pre_tokenizer")
        }
    }

    /// Qwen2Tokenizer (named, or from model_type qwen2 / qwen3) rebuilds its pipeline as transformers 5.23 does.
    func testQwen2TokenizerClassResolution() throws {
        XCTAssertEqual(try TransformersLoader.flavor(className: "Qwen2TokenizerFast", modelType: nil), .qwen2Rebuild)
        XCTAssertEqual(try TransformersLoader.flavor(className: nil, modelType: "qwen3"), .qwen2Rebuild)
        XCTAssertEqual(try TransformersLoader.flavor(className: nil, modelType: "qwen2"), .qwen2Rebuild)
        XCTAssertThrowsError(try TransformersLoader.flavor(className: nil, modelType: "llama"))
    }
}

import CECore
import Foundation
import XCTest
@testable import CETokenizers

/// Every golden/tokenizers/*.json (made by golden/make_goldens.py from transformers) must be reproduced
/// exactly: input_ids, token_type_ids and attention_mask of each case.
///
/// A case's arrays may be right-padded; the unpadded length is the number of attention_mask ones.
/// The generator calls `tok(text, pair, truncation=False)` when max_length is null (no truncation) and
/// `tok(text, pair, truncation="longest_first", max_length=n)` otherwise. Called unbatched, transformers
/// encodes `(text, "")` as a single sequence (`[(text, pair)] if pair else [text]`), so an empty pair is
/// encoded here as a single text too.
final class GoldenCorpusTests: XCTestCase {
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testGoldenTokenizerCorpora() throws {
        let folder = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/tokenizers")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertFalse(names.isEmpty, "no golden tokenizer corpora in \(folder.path)")
        let separate: Set<String> = ["bpe-roberta.json", "bpe-roberta-files.json", "bpe-backend.json", "unigram-xlmr.json", "unigram-xlmr-hub.json",
                                     "unigram-xlmr-spm.json", "unigram-camembert-hub.json", "unigram-camembert-spm.json",
                                     "unigram-bytefallback.json", "deberta-json.json", "tiny-qwen3.json",
                                     "qwen3-real.json"]
        for name in names where !separate.contains(name) {
            try checkCorpus(folder.appendingPathComponent(name))
        }
    }

    /// The byte-level BPE and Unigram corpora (golden/make_tokenizers_bpe_unigram.py), one test each so a missing
    /// or failing file is named.
    func testByteLevelBPERobertaTokenizer() throws { try checkNamed("bpe-roberta") }
    func testByteLevelBPERobertaFromVocabAndMerges() throws { try checkNamed("bpe-roberta-files") }
    func testByteLevelBPEBackendPipeline() throws { try checkNamed("bpe-backend") }
    func testUnigramXLMRobertaTokenizer() throws { try checkNamed("unigram-xlmr") }
    func testUnigramHubEraPipeline() throws { try checkNamed("unigram-xlmr-hub") }
    func testUnigramXLMRobertaFromSentencePieceModel() throws { try checkNamed("unigram-xlmr-spm") }
    func testUnigramCamembertHubEraFiles() throws { try checkNamed("unigram-camembert-hub") }
    func testUnigramCamembertFromSentencePieceModel() throws { try checkNamed("unigram-camembert-spm") }
    func testUnigramByteFallbackPipeline() throws { try checkNamed("unigram-bytefallback") }
    /// DebertaV2Tokenizer from spm.model alone and from tokenizer.json (golden/make_models_deberta.py): one golden, whose
    /// `same_ids_from` says the reference gave the spm.model form (golden/models/spm-deberta) the same ids on every case.
    func testDebertaV2FromSentencePieceModel() throws {
        let url = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/tokenizers/deberta-json.json")
        let same = try JSONValue.parse(Data(contentsOf: url), file: "deberta-json.json")["same_ids_from"]
        let dir = try XCTUnwrap(same?["tokenizer_dir"]?.stringValue, "deberta-json.json: no same_ids_from")
        XCTAssertEqual(dir, "golden/models/spm-deberta/")
        try checkCorpus(url, directory: GoldenCorpusTests.repoRoot.appendingPathComponent(dir))
    }
    func testDebertaV2FromTokenizerJSON() throws { try checkNamed("deberta-json") }
    func testQwen2TokenizerByteLevelBPE() throws { try checkNamed("tiny-qwen3") }

    /// Qwen3's real vocabulary (151,643 byte-level BPE tokens + 26 added; .models/qwen3-tokenizer from `make models`,
    /// golden/make_qwen3_tokenizer_golden.py), from tokenizer.json. Skipped when absent; a failure under CETOOL_REQUIRE_MODELS=1.
    func testQwen2TokenizerRealQwen3Vocabulary() throws {
        let source = GoldenCorpusTests.repoRoot.appendingPathComponent(".models/qwen3-tokenizer")
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("tokenizer.json").path) else {
            if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { return XCTFail("\(source.path) missing: make models") }
            throw XCTSkip("\(source.path) missing: make models")
        }
        try checkNamed("qwen3-real")
    }

    private func checkNamed(_ name: String) throws {
        let url = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/tokenizers/\(name).json")
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "missing \(url.path)")
        try checkCorpus(url)
    }

    private func ints(_ v: JSONValue?) -> [Int32]? {
        guard let items = v?.arrayValue else { return nil }
        let out = items.compactMap { $0.int64Value.map { Int32(truncatingIfNeeded: $0) } }
        return out.count == items.count ? out : nil
    }

    /// `directory` replaces the golden's tokenizer_dir (another form of the same tokenizer).
    private func checkCorpus(_ url: URL, directory: URL? = nil) throws {
        let name = url.lastPathComponent
        let doc = try JSONValue.parse(Data(contentsOf: url), file: name)
        guard let dir = doc["tokenizer_dir"]?.stringValue, let cases = doc["cases"]?.arrayValue else {
            return XCTFail("\(name): missing tokenizer_dir or cases")
        }
        XCTAssertGreaterThan(cases.count, 2_000, "\(name): expected the full corpus")
        let tokenizer = try Tokenizer.load(directory: directory ?? GoldenCorpusTests.repoRoot.appendingPathComponent(dir))
        var failures: [String] = []
        var failed = 0
        for (i, c) in cases.enumerated() {
            guard let text = c["text"]?.stringValue, let expectedIDs = ints(c["input_ids"]),
                  let mask = ints(c["attention_mask"]) else {
                failed += 1
                failures.append("case \(i): malformed")
                continue
            }
            let pair = c["pair"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            let maxLength = c["max_length"]?.int64Value.map { Int($0) }
            let length = mask.filter { $0 == 1 }.count
            let expectedTypes = ints(c["token_type_ids"]) ?? [Int32](repeating: 0, count: expectedIDs.count)
            var problem: String? = nil
            do {
                let e = try pair.map { try tokenizer.encode(text, $0, maxLength: maxLength) }
                    ?? tokenizer.encode(text, maxLength: maxLength)
                if e.ids != Array(expectedIDs.prefix(length)) || expectedIDs.count < length {
                    problem = "ids\n    expected \(expectedIDs.prefix(length))\n    got      \(e.ids)"
                } else if e.typeIDs != Array(expectedTypes.prefix(length)) {
                    problem = "token_type_ids\n    expected \(expectedTypes.prefix(length))\n    got      \(e.typeIDs)"
                } else if e.attentionMask != Array(mask.prefix(length)) {
                    problem = "attention_mask"
                } else if expectedIDs.dropFirst(length).contains(where: { $0 != tokenizer.padTokenID }) {
                    problem = "padding ids differ from pad token \(tokenizer.padTokenID)"
                }
            } catch {
                problem = "threw \(error)"
            }
            if let problem {
                failed += 1
                if failures.count < 10 {
                    let p = pair.map { " pair=\($0.debugDescription.prefix(160))" } ?? ""
                    failures.append("case \(i) max_length=\(maxLength.map(String.init) ?? "nil") text=\(text.debugDescription.prefix(160))\(p): \(problem)")
                }
            }
        }
        XCTAssertEqual(failed, 0, "\(name): \(cases.count - failed)/\(cases.count) identical\n" + failures.joined(separator: "\n"))
    }
}

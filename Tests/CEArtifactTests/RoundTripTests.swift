import CECore
import CEFormats
import CEImport
import CEQuant
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest
@testable import CEArtifact

/// save_pretrained -> sentence-transformers: the scores sentence-transformers computed from folders
/// cetool saved (golden/roundtrip/save_pretrained.json, made by golden/roundtrip_save_pretrained.py)
/// against cetool's own scores of the same folders, re-created here byte for byte.
final class RoundTripTests: XCTestCase {
    static let root = repositoryRoot()
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-roundtrip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The profile a recorded load is held to: fp32 folders and fp16 weights computed in fp32 by both
    /// sides use their precision's profile; transformers' own fp16 compute (a float16 config loaded as
    /// it is) uses fp16-compute.
    static func profile(precision: String, load: String) -> ToleranceProfile {
        if precision == "fp16", load == "default" { return .fp16Compute }
        return ToleranceProfile.named(precision)!
    }

    func testSentenceTransformersScoresOfSavedFoldersMatchOurs() throws {
        let path = Self.root.appendingPathComponent("golden/roundtrip/save_pretrained.json").path
        let golden = try JSONFile.load(path: path, limit: 64 << 20)
        let sets = try XCTUnwrap(golden["sets"]?.arrayValue)
        // tiny-bert-l1 and minilm-l6-ce: fp32 + fp16 (two loads); tiny-roberta, tiny-xlmr, tiny-xlmr-spm, tiny-camembert,
        // tiny-distilbert, tiny-electra, tiny-modernbert, tiny-modernbert-mean: fp32 + fp16 (fp32 compute).
        XCTAssertEqual(sets.count, 22)
        var saved: [String: (URL, CrossEncoder)] = [:]
        var checked = 0
        for s in sets {
            let model = try XCTUnwrap(s["model"]?.stringValue), precision = try XCTUnwrap(s["precision"]?.stringValue)
            let load = try XCTUnwrap(s["load"]?.stringValue), sourceRel = try XCTUnwrap(s["source_dir"]?.stringValue)
            let source = Self.root.appendingPathComponent(sourceRel)
            guard FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path) else {
                if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" {
                    XCTFail("model \(model) missing at \(source.path): run `make models`")
                } else {
                    print("skipping \(model) \(precision): model not present (make models)")
                }
                continue
            }
            let key = "\(model)-\(precision)"
            if saved[key] == nil {
                var m = try ModelDirectory.load(source)
                if precision != "fp32" { m.graph = try Quantize.apply(Quantize.Precision(rawValue: precision)!, to: m.graph) }
                let out = dir.appendingPathComponent(key)
                try m.savePretrained(to: out)
                saved[key] = (out, try CrossEncoder(modelDirectory: out))
            }
            let (out, ce) = saved[key]!
            // The folder sentence-transformers scored is the one we write now.
            for (file, digest) in try XCTUnwrap(s["saved_sha256"]?.objectValue) {
                XCTAssertEqual(try SHA256.hex(ofFile: out.appendingPathComponent(file).path), digest.stringValue, "\(key) \(file)")
            }
            XCTAssertEqual(ce.maxLength, s["max_length"]?.intValue)

            // Pairs and ranked lists: texts from the model's own golden, numbers from the round trip.
            let g = try GoldenSet.load(path: Self.root.appendingPathComponent(try XCTUnwrap(s["golden"]?.stringValue)).path)
            let byID = Dictionary(uniqueKeysWithValues: g.cases.map { ($0.id, $0) })
            let cases = try (s["cases"]?.arrayValue ?? []).map { c -> Verifier.Reference.Case in
                let id = try XCTUnwrap(c["id"]?.stringValue)
                let src = try XCTUnwrap(byID[id])
                return Verifier.Reference.Case(id: id, query: src.query, document: src.document,
                                               logits: (c["logits"]?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) },
                                               scores: (c["scores"]?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) }, tokens: nil)
            }
            XCTAssertEqual(cases.count, g.cases.count)
            let rankingsByID = Dictionary(uniqueKeysWithValues: g.rankings.map { ($0.id, $0) })
            let lists = try (s["rankings"]?.arrayValue ?? []).map { r -> Verifier.Reference.RankedList in
                let src = try XCTUnwrap(rankingsByID[try XCTUnwrap(r["id"]?.stringValue)])
                var scores = [Float](repeating: 0, count: src.documents.count)
                for e in r["result"]?.arrayValue ?? [] {
                    if let i = e["corpus_id"]?.intValue, let v = e["score"]?.doubleValue, i >= 0, i < scores.count { scores[i] = Float(v) }
                }
                return Verifier.Reference.RankedList(id: src.id, query: src.query, documents: src.documents, scores: scores)
            }
            let profile = Self.profile(precision: precision, load: load)
            let report = try Verifier.compare(ce, reference: .init(name: "\(key) \(load)", maxLength: g.maxLength, cases: cases, lists: lists),
                                              profile: profile)
            print(String(format: "round trip %@ (%@ load, profile %@): %d pairs, max |Δlogit| %.3g, mean %.3g, %d lists, min Spearman %.4f, top-1 %.2f",
                         key, load, profile.name, report.cases.count, report.maxLogitDelta, report.meanLogitDelta, report.lists.count,
                         report.minSpearman ?? Double.nan, report.top1Agreement ?? Double.nan))
            XCTAssertEqual(report.failures, [], "\(key) \(load)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }
}

import CETestSupport
import Foundation
import XCTest

/// The trained reranker minilm-l6-rr carried into the DistilBERT, ELECTRA and RoBERTa layouts and heads
/// (golden/assemble_minilm_arch.py, built by scripts/fetch_models.sh; DistilBERT's fine-tuned in its layout), against sentence-transformers' goldens
/// (golden/minilm-l6-rr-<arch>/golden.json): `cetool verify` on the source folder (fp32 profile) and on
/// `cetool convert` artifacts with the defaults (fp16 and int8 profiles), as a user runs them.
final class ArchitectureVariantTests: XCTestCase {
    let cli = CLIRunner()

    func model(_ arch: String) throws -> String { try cli.realModel("minilm-l6-rr-\(arch)") }

    func golden(_ arch: String) -> String { cli.root.appendingPathComponent("golden/minilm-l6-rr-\(arch)/golden.json").path }

    /// `cetool verify --json` on `folder`: exit status and the report's summary.
    func verify(_ folder: String, _ arch: String) throws -> (status: Int32, summary: [String: Any], text: String) {
        let v = try cli.run(["verify", folder, "--golden", golden(arch), "--json"])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any], v.stdout + v.stderr)
        return (v.status, try XCTUnwrap(json["summary"] as? [String: Any]), v.stdout)
    }

    func convert(_ src: String, _ dtype: String, into dir: URL) throws -> String {
        let out = dir.appendingPathComponent(dtype).path
        let c = try cli.run(["convert", src, "--dtype", dtype, "--output", out])
        XCTAssertEqual(c.status, 0, c.stdout + c.stderr)
        return out
    }

    func figures(_ s: [String: Any]) -> String {
        func g(_ k: String) -> String { (s[k] as? Double).map { String(format: "%.4g", $0) } ?? "–" }
        return "max |Δlogit| \(g("max_abs_delta_logit")), mean \(g("mean_abs_delta_logit")), min Spearman \(g("min_spearman")), "
            + "top-1 \(g("top1_agreement")), widest swap \(g("widest_swap_reference_gap"))"
    }

    func checkPasses(_ folder: String, _ arch: String, _ precision: String) throws {
        let (status, s, text) = try verify(folder, arch)
        print("variant \(arch) \(precision): \(figures(s))")
        XCTAssertEqual(status, 0, "\(arch) \(precision): \(text)")
        XCTAssertEqual(s["passed"] as? Bool, true)
        XCTAssertEqual((s["profile"] as? [String: Any])?["name"] as? String, precision)
        XCTAssertEqual(s["token_ids_identical"] as? Int, 377)
        XCTAssertEqual(s["token_ids_checked"] as? Int, 377)
        XCTAssertEqual(s["ranked_lists"] as? Int, 29)
    }

    /// ELECTRA: fp32, fp16 and int8 each pass their profile.
    func testElectraPassesEveryProfile() throws {
        let src = try model("electra")
        let dir = try makeTemporaryDirectory("cetool-variant")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (folder, precision) in [(src, "fp32"), (try convert(src, "fp16", into: dir), "fp16"), (try convert(src, "int8", into: dir), "int8")] {
            try checkPasses(folder, "electra", precision)
        }
    }

    /// RoBERTa and DistilBERT (the construct fine-tuned in DistilBERT's layout, golden/train_minilm_rr_distilbert.py):
    /// fp32, fp16 and int8 (convert's defaults) each pass their profile.
    func testRobertaAndDistilbertPassEveryProfile() throws {
        for arch in ["roberta", "distilbert"] {
            let src = try model(arch)
            let dir = try makeTemporaryDirectory("cetool-variant")
            defer { try? FileManager.default.removeItem(at: dir) }
            for (folder, precision) in [(src, "fp32"), (try convert(src, "fp16", into: dir), "fp16"), (try convert(src, "int8", into: dir), "int8")] {
                try checkPasses(folder, arch, precision)
            }
        }
    }
}

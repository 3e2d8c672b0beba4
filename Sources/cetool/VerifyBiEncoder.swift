import ArgumentParser
import CEBiEncoder
import CECore
import CEFormats
import CERetrieve
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

extension Verify {
    /// A SentenceTransformer folder or bi-encoder artifact: modules.json with a Pooling module.
    func isBiEncoder(_ url: URL) -> Bool {
        guard let list = try? JSONFile.loadIfPresent(path: url.appendingPathComponent("modules.json").path, limit: 1 << 20)?.arrayValue else { return false }
        return list.contains { $0["type"]?.stringValue?.hasSuffix(".Pooling") == true }
    }

    /// verify for bi-encoders: embeddings of --texts (or a golden's texts) against --original's (or the golden's),
    /// cosine per embedding and recall@10 of each text's neighbours (BiEncoderVerification).
    func checkBiEncoder(_ url: URL, integrityFailure: String?) throws {
        // A tampered artifact fails on its manifest before any of its files is read.
        if let integrityFailure {
            let r = JSONWriter.write(.object([("model", .string(model)), ("passed", .bool(false)), ("integrity_failure", .string(integrityFailure))])) + "\n"
            if let path = self.report { try writeOutput(r, to: path) }
            write(json ? r : "\(model): bi-encoder: FAIL\n✗ manifest: \(integrityFailure)\n")
            throw ExitCode(1)
        }
        let m = try SentenceTransformer(modelDirectory: url, threads: threads)
        let precision = m.model.artifact?.precision ?? "fp32"
        let p = profile == .auto ? (BiEncoderVerification.Profile.named(precision) ?? .fp32) : BiEncoderVerification.Profile.named(profile.rawValue)!
        var reports: [(String, BiEncoderVerification.Report)] = []
        if integrityFailure == nil {
            for path in try goldenFiles() {
                let g = try JSONParser.parse([UInt8](try readInput(path)))
                guard let t = g["texts"]?.arrayValue?.compactMap(\.stringValue), let e = g["embeddings"], let shape = e["shape"]?.arrayValue?.compactMap(\.intValue),
                      shape.count == 2, let b64 = e["float32_base64"]?.stringValue, let data = Data(base64Encoded: b64), data.count == shape[0] * shape[1] * 4 else {
                    throw CLIError.refused("\(path): not an embeddings golden (texts, embeddings {shape, float32_base64}; golden/make_bi_goldens.py)")
                }
                let values = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
                let ref = try Embeddings(count: shape[0], dimension: shape[1], values: values)
                reports.append((path, try BiEncoderVerification.compare(try m.encode(t, batchSize: batchSize), reference: ref, profile: p)))
            }
            if let original, let texts {
                let t = try readTexts(texts, what: "--texts").texts
                let o = try SentenceTransformer(modelDirectory: URL(fileURLWithPath: try resolveModelPath(original)), threads: threads)
                reports.append(("\(original) on \(texts)", try BiEncoderVerification.compare(try m.encode(t, batchSize: batchSize),
                                                                                             reference: try o.encode(t, batchSize: batchSize), profile: p)))
            }
        }
        let passed = integrityFailure == nil && reports.allSatisfy { $0.1.passed }
        func mark(_ ok: Bool) -> String { ok ? "✓" : "✗" }
        var text = "\(model): bi-encoder, \(precision), profile \(p.name): \(passed ? "PASS" : "FAIL")\n"
        if let integrityFailure { text += "✗ manifest: \(integrityFailure)\n" }
        var json: [(String, JSONValue)] = [("model", .string(model)), ("precision", .string(precision)), ("profile", .string(p.name)),
                                           ("passed", .bool(passed))]
        var sets: [JSONValue] = []
        for (name, r) in reports {
            text += "  \(name): \(r.texts) texts\n"
            text += "  \(mark(r.cosinePassed)) cosine to the reference: min \(r.minCosine) (text \(r.worstText)), mean \(r.meanCosine); bound >= \(p.minCosine)\n"
            text += "  \(mark(r.recallPassed)) recall@\(r.k) of each text's neighbours: \(r.recall); bound >= \(p.minRecall)\n"
            sets.append(.object([("reference", .string(name)), ("texts", .int(Int64(r.texts))), ("min_cosine", .double(Double(r.minCosine))),
                                 ("mean_cosine", .double(Double(r.meanCosine))), ("worst_text", .int(Int64(r.worstText))),
                                 ("k", .int(Int64(r.k))), ("recall", .double(r.recall)), ("passed", .bool(r.passed))]))
        }
        json.append(("sets", .array(sets)))
        // The verify report shape save-pretrained's card reads: a summary that names the weights it measured.
        var summary: [(String, JSONValue)] = [("model", .string(model)), ("precision", .string(precision)),
                                              ("profile", .object([("name", .string(p.name))])), ("passed", .bool(passed)),
                                              ("model_weights_sha256", .string(try m.model.weightsSHA256()))]
        if !reports.isEmpty {
            summary.append(("min_cosine", .double(Double(reports.map(\.1.minCosine).min()!))))
            summary.append(("min_recall_at_k", .double(reports.map(\.1.recall).min()!)))
        }
        json.insert(("format", .string("cetool-verify-report")), at: 0)
        json.append(("summary", .object(summary)))
        let report = JSONWriter.write(.object(json)) + "\n"
        if let path = self.report { try writeOutput(report, to: path) }
        write(self.json ? report : text)
        if !passed { throw ExitCode(1) }
    }
}

import CECore
import CEFormats
import CEGraph
import CEImport
import CEQuant
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The model card (README.md) written with every saved model: the YAML front matter the hub and
/// sentence-transformers read (library_name, pipeline_tag, tags, base_model, license), the model's
/// shape, the quantization plan, and the verify figures (fidelity, size, speed) with the plot when a
/// `cetool verify` report is given. Nothing in it depends on time or on local paths, so the same
/// input gives the same bytes.
public enum ModelCard {
    public struct Info: Sendable {
        /// Repository id or display name (e.g. `acme/minilm-rerank-int8`); default: the output folder's name.
        public var name: String?
        /// The model this one derives from (front matter `base_model`); default: the source card's.
        public var baseModel: String?
        /// Front matter `license`; default: the source card's.
        public var license: String?
        /// A `cetool verify --report` JSON; its `summary` fields are rendered when present.
        public var report: JSONValue?
        /// The verify SVG plot, copied into the folder and shown in the card.
        public var plot: [UInt8]?
        /// Set by the writer: the plot's file name inside the folder.
        public var plotFile: String?

        public init(name: String? = nil, baseModel: String? = nil, license: String? = nil, report: JSONValue? = nil, plot: [UInt8]? = nil) {
            self.name = name
            self.baseModel = baseModel
            self.license = license
            self.report = report
            self.plot = plot
        }
    }

    /// `key: value` scalars and `key:` + `- item` lists of a card's YAML front matter (the part between
    /// the first two `---` lines). Enough to carry `license` and `base_model`; anything else is ignored.
    public static func frontMatter(_ text: String) -> [String: [String]] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.trimmingSuffix("\r")) }
        guard lines.first == "---" else { return [:] }
        lines.removeFirst()
        var out: [String: [String]] = [:]
        var current: String?
        for line in lines {
            if line == "---" || line == "..." { break }
            if line.hasPrefix("- ") || line.hasPrefix("  - ") {
                if let k = current { out[k, default: []].append(unquote(line.drop { $0 == " " }.dropFirst(2))) }
                continue
            }
            guard !line.hasPrefix(" "), !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { current = nil; continue }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            current = key
            if !value.isEmpty { out[key] = [unquote(Substring(value))] }
        }
        return out
    }

    static func unquote(_ s: Substring) -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.count >= 2, (t.hasPrefix("\"") && t.hasSuffix("\"")) || (t.hasPrefix("'") && t.hasSuffix("'")) {
            return String(t.dropFirst().dropLast())
        }
        return t
    }

    /// A YAML scalar: plain when it is a simple token, else a double-quoted (JSON-escaped) string.
    static func yaml(_ s: String) -> String {
        let plain = !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E || c == 0x2F || c == 0x5F
        }
        let reserved = ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(s.lowercased())
        return plain && !reserved && s.first != "-" && Double(s) == nil ? s : JSONWriter.quote(s)
    }

    /// The card text. `files` are the folder's other files (path, size, sha256); `weightsBytes` the
    /// weights file's size when known.
    public static func render(model: ImportedModel, precision: Quantize.Precision, plan: JSONValue?, layout: SavePretrained.Layout,
                              files: [ArtifactFormat.ManifestEntry], weightsBytes: Int?, info: Info) throws -> String {
        var sourceCard: [String: [String]] = [:]
        if let text = try? String(contentsOf: model.directory.appendingPathComponent("README.md"), encoding: .utf8) {
            sourceCard = frontMatter(text)
        }
        let name = info.name ?? model.directory.standardizedFileURL.lastPathComponent
        let baseModel = info.baseModel ?? sourceCard["base_model"]?.first
        let hf = layout == .huggingFace
        let license = info.license ?? sourceCard["license"]?.first
        if let st = sentenceTransformer(model) {
            return biEncoderFrontMatter(precision: precision, hf: hf, baseModel: baseModel, quantizedFrom: info.baseModel != nil, license: license)
                + biEncoderSummary(name: name, precision: precision, hf: hf, folder: st)
                + biEncoderDetails(model, folder: st, precision: precision, hf: hf, weightsBytes: weightsBytes, baseModel: baseModel)
                + planSection(plan, precision: precision)
                + biEncoderVerification(info)
                + biEncoderUsage(name: name, hf: hf)
                + filesSection(files, source: (try? sourceWeights(model)) ?? [])
        }
        return frontMatterSection(precision: precision, hf: hf, baseModel: baseModel, quantizedFrom: info.baseModel != nil,
                                  license: info.license ?? sourceCard["license"]?.first)
            + summarySection(name: name, precision: precision, hf: hf)
            + detailsSection(model, precision: precision, hf: hf, weightsBytes: weightsBytes, baseModel: baseModel)
            + planSection(plan, precision: precision)
            + verificationSection(info)
            + usageSection(name: name, hf: hf)
            + filesSection(files, source: (try? sourceWeights(model)) ?? [])
    }

    static func frontMatterSection(precision: Quantize.Precision, hf: Bool, baseModel: String?, quantizedFrom: Bool,
                                   license: String?) -> String {
        var s = "---\n"
        s += "library_name: \(hf ? "sentence-transformers" : "cetool")\n"
        s += "pipeline_tag: text-ranking\n"
        s += "tags:\n"
        for t in (hf ? ["sentence-transformers"] : []) + ["cross-encoder", "reranker", "cetool", precision.rawValue] { s += "- \(yaml(t))\n" }
        if let baseModel {
            s += "base_model: \(yaml(baseModel))\n"
            if precision != .fp32, quantizedFrom { s += "base_model_relation: quantized\n" }
        }
        if let license { s += "license: \(yaml(license))\n" }
        return s + "---\n\n"
    }

    static func summarySection(name: String, precision: Quantize.Precision, hf: Bool) -> String {
        var s = "# \(name)\n\n"
        s += "A cross-encoder (reranker): it scores (query, document) pairs; higher means more relevant. "
        if hf {
            s += "A HuggingFace model directory in the sentence-transformers CrossEncoder layout, \(precision.rawValue) weights"
            s += ", written by `cetool save-pretrained`.\n\n"
        } else {
            s += "A cetool artifact (formats/artifact.md) with \(precision.rawValue) weights, written by `cetool save-pretrained`; "
            s += "int8 weights have no HuggingFace form, so it runs with cetool (Swift), not with sentence-transformers.\n\n"
        }
        return s
    }

    static func detailsSection(_ model: ImportedModel, precision: Quantize.Precision, hf: Bool, weightsBytes: Int?,
                               baseModel: String?) -> String {
        let h = model.graph.hyperparameters
        var s = "## Model details\n\n| | |\n|---|---|\n"
        s += "| Architecture | \(cell(model.config.architectureName)) |\n"
        s += "| Layers / hidden / heads / FFN | \(h.numHiddenLayers) / \(h.hiddenSize) / \(h.numAttentionHeads) / \(h.intermediateSize) |\n"
        s += "| Vocabulary | \(h.vocabSize) |\n"
        s += "| Maximum sequence length | \(model.defaultMaxLength) tokens |\n"
        s += "| Labels | \(h.numLabels) (\(cell(model.graph.labels.joined(separator: ", ")))) |\n"
        s += "| Score activation | \(SavePretrained.activationPath(model.scorePolicy.activation)) (\(cell(model.scorePolicy.source))) |\n"
        s += "| Weights | \(precision.rawValue)\(hf ? ", config.json dtype \(SavePretrained.torchDType(precision))" : "") |\n"
        if let weightsBytes { s += "| Weights file | \(megabytes(weightsBytes)) |\n" }
        if let baseModel { s += "| Base model | \(cell(baseModel)) |\n" }
        return s + "\n"
    }

    static func planSection(_ plan: JSONValue?, precision: Quantize.Precision) -> String {
        var s = "## Quantization plan\n\n"
        guard let plan, precision != .fp32 else { return s + "None: every weight is fp32.\n\n" }
        let groups = [("token_embedding", "token embedding"), ("attention", "attention Q/K/V/output linears"),
                      ("ffn_up", "feed-forward up linears"), ("ffn_down", "feed-forward down linears")]
        let at = groups.filter { plan[$0.0]?.boolValue == true }.map(\.1)
        s += "- stored as \(precision.rawValue): \(at.isEmpty ? "none" : at.joined(separator: ", "))\n"
        if let fp32 = plan["fp32"]?.arrayValue?.compactMap(\.stringValue), !fp32.isEmpty {
            s += "- kept in fp32: \(fp32.map { $0.replacingOccurrences(of: "_", with: " ") }.joined(separator: ", "))\n"
        }
        if precision == .int8 {
            if let w = plan["int8_weights"]?.stringValue { s += "- int8 weights: \(w)\n" }
            if let a = plan["int8_activations"]?.stringValue { s += "- int8 activations: \(a)\n" }
            if let linears = plan["linear_activations"]?.objectValue {
                for mode in ["int8", "int8_grouped", "int16"] where mode != "int8_grouped" || linears.contains(where: { $0.1.stringValue == mode }) {
                    let names = linears.filter { $0.1.stringValue == mode }.map(\.0)
                    s += "- \(mode) inputs (\(names.count) of \(linears.count) linears): \(names.isEmpty ? "none" : names.map { "`\($0)`" }.joined(separator: ", "))\n"
                }
            }
        } else {
            s += "- computed in fp32 by cetool; transformers loads the model as \(SavePretrained.torchDType(precision)) by default "
            s += "(pass `model_kwargs={\"dtype\": \"float32\"}` to compute in fp32)\n"
        }
        return s + "\n"
    }

    static func verificationSection(_ info: Info) -> String {
        var s = "## Verification\n\n"
        if let summary = info.report?["summary"], case .object = summary {
            s += verifyTable(summary)
            if let plotFile = info.plotFile { s += "\n![reference vs converted logits, and the Δlogit histogram](\(plotFile))\n" }
        } else {
            s += "No verification report was given. `cetool verify MODEL --golden … --report report.json --plot plot.svg`, then "
            s += "`cetool save-pretrained MODEL --report report.json --plot plot.svg` puts the figures here.\n"
            if let plotFile = info.plotFile { s += "\n![verify plot](\(plotFile))\n" }
        }
        return s + "\n"
    }

    static func usageSection(name: String, hf: Bool) -> String {
        var s = "## Usage\n\n"
        if hf {
            s += "```python\nfrom sentence_transformers import CrossEncoder\n\n"
            s += "model = CrossEncoder(\(JSONWriter.quote(name)))\n"
            s += "scores = model.predict([(\"How many people live in Berlin?\", \"Berlin has 3.5 million inhabitants.\")])\n```\n\n"
        }
        s += "```\ncetool rank MODEL_DIR --query \"How many people live in Berlin?\" --documents docs.txt --top-k 3\n```\n\n"
        s += "```swift\nlet model = try CrossEncoder(modelDirectory: URL(fileURLWithPath: \"MODEL_DIR\"))\n"
        s += "let ranking = try model.rank(query: q, documents: docs, topK: 3)\n```\n\n"
        return s
    }

    /// The folder's files, then the source weights the model came from (provenance).
    static func filesSection(_ files: [ArtifactFormat.ManifestEntry], source: [ArtifactFormat.ManifestEntry]) -> String {
        var s = ""
        if !files.isEmpty {
            s += "## Files\n\n| file | bytes | sha256 |\n|---|---:|---|\n"
            for f in files { s += "| \(cell(f.path)) | \(f.size) | `\(f.sha256)` |\n" }
            s += "\n"
        }
        if !source.isEmpty {
            s += "## Source\n\n| source weights | bytes | sha256 |\n|---|---:|---|\n"
            for f in source { s += "| \(cell(f.path)) | \(f.size) | `\(cell(f.sha256))` |\n" }
            s += "\n"
        }
        return s
    }

    /// The source checkpoint files (an artifact's recorded provenance, else the files just read).
    static func sourceWeights(_ model: ImportedModel) throws -> [ArtifactFormat.ManifestEntry] {
        func isWeights(_ p: String) -> Bool { p.hasSuffix(".safetensors") || p.hasSuffix(".bin") }
        if let meta = model.artifact {
            return (meta.provenance["source_files"]?.arrayValue ?? []).compactMap { f in
                guard let p = f["path"]?.stringValue, isWeights(p), let n = f["size"]?.intValue, let d = f["sha256"]?.stringValue else { return nil }
                return ArtifactFormat.ManifestEntry(path: p, size: n, sha256: d)
            }
        }
        return try Artifact.sourceFiles(of: model).filter { isWeights($0.path) }
    }

    /// Text for one cell of a GitHub-flavoured Markdown table: `|` escaped (unescaped it ends the cell, so a label
    /// such as "max |Δlogit|" would lose its value), line breaks as spaces.
    static func cell(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "|": out += "\\|"
            case "\n", "\r\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out
    }

    /// A share in [0, 1] as a percentage: 1 -> "100 %", 0.96667 -> "96.67 %".
    static func percent(_ share: Double) -> String { String(format: "%.4g %%", share * 100) }

    /// The verify summary as a table: the known figures by name, any other scalar field as it is.
    static func verifyTable(_ summary: JSONValue) -> String {
        func num(_ v: JSONValue?, _ digits: Int = 4) -> String? {
            guard let v else { return nil }
            if let i = v.intValue, case .int = v { return String(i) }
            if let d = v.doubleValue { return String(format: "%.\(digits)g", d) }
            if let b = v.boolValue { return b ? "yes" : "no" }
            return v.stringValue
        }
        let known: [(String, String)] = [
            ("passed", "Passed"), ("precision", "Precision"), ("integrity", "Manifest check"), ("pairs", "Pairs compared"),
            ("max_abs_delta_logit", "max |Δlogit|"), ("mean_abs_delta_logit", "mean |Δlogit|"), ("max_abs_delta_score", "max |Δscore|"),
            ("ranked_lists", "Ranked lists"), ("min_spearman", "min Spearman"), ("min_kendall_tau", "min Kendall τ"),
            ("top1_agreement", "Top-1 agreement"), ("mean_ndcg_at_10", "mean NDCG@10"),
        ]
        // Fields that are shares of lists or pairs, shown as percentages.
        let shares: Set<String> = ["top1_agreement", "label_agreement", "mean_topk_overlap"]
        func value(_ k: String, _ v: JSONValue?) -> String? {
            if shares.contains(k), let d = v?.doubleValue { return percent(d) }
            return num(v)
        }
        var s = "| figure | value |\n|---|---|\n"
        if let p = summary["profile"]?["name"]?.stringValue { s += "| Tolerance profile | \(cell(p)) |\n" }
        for (k, label) in known { if let v = value(k, summary[k]) { s += "| \(cell(label)) | \(cell(v)) |\n" } }
        if let same = summary["token_ids_identical"]?.intValue, let checked = summary["token_ids_checked"]?.intValue, checked > 0 {
            s += "| Token ids identical | \(same) / \(checked) |\n"
        }
        if let digest = summary["model_weights_sha256"]?.stringValue { s += "| Verified weights (sha256) | `\(cell(digest))` |\n" }
        let skip = Set(known.map(\.0) + ["profile", "model", "model_weights_sha256", "token_ids_identical", "token_ids_checked"])
        for (k, v) in summary.objectValue ?? [] where !skip.contains(k) {
            if let text = value(k, v) { s += "| \(cell(k.replacingOccurrences(of: "_", with: " "))) | \(cell(text)) |\n" }
        }
        return s
    }

    /// Refuses a `cetool verify` report that is not about `model`: its `summary.model_weights_sha256` must equal
    /// the model's `weightsSHA256()` (reports written before that field existed are refused too).
    public static func checkReport(_ report: JSONValue, path: String, model: ImportedModel) throws {
        guard report["format"]?.stringValue == "cetool-verify-report", case .object = report["summary"] else {
            throw ModelCardError.notAVerifyReport(path: path)
        }
        guard let recorded = report["summary"]?["model_weights_sha256"]?.stringValue else {
            throw ModelCardError.reportWithoutWeightsDigest(path: path)
        }
        let actual = try model.weightsSHA256()
        guard recorded == actual else {
            throw ModelCardError.reportForAnotherModel(path: path, reportModel: report["summary"]?["model"]?.stringValue ?? "?",
                                                       reportSHA256: recorded, modelSHA256: actual)
        }
    }

    static func megabytes(_ n: Int) -> String { String(format: "%.1f MB (%d bytes)", Double(n) / 1e6, n) }
}

public enum ModelCardError: Error, Equatable, CustomStringConvertible {
    case notAVerifyReport(path: String)
    case reportWithoutWeightsDigest(path: String)
    case reportForAnotherModel(path: String, reportModel: String, reportSHA256: String, modelSHA256: String)
    /// `--report` with `--dtype`: the report measured the weights before this save quantizes them.
    case reportBeforeQuantization(path: String)

    public var description: String {
        switch self {
        case .notAVerifyReport(let p): return "\(p) is not a `cetool verify --report` file (format cetool-verify-report with a summary)"
        case .reportWithoutWeightsDigest(let p):
            return "\(p) does not say which weights it verified (no summary.model_weights_sha256); run `cetool verify MODEL … --report` again with this cetool"
        case .reportForAnotherModel(let p, let m, let r, let a):
            return "\(p) verified other weights (\(m), sha256 \(r)); the model being saved has weights sha256 \(a). "
                + "Verify this model and pass that report"
        case .reportBeforeQuantization(let p):
            return "\(p) verified the model before --dtype quantizes it, so its figures do not describe what is saved. "
                + "Convert first (`cetool convert --dtype …`), verify the result, then save that with --report"
        }
    }
}

private extension Substring {
    func trimmingSuffix(_ c: Character) -> Substring { last == c ? dropLast() : self }
}

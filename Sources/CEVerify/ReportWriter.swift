import CECore
import Foundation

extension ToleranceProfile {
    /// The profile of a weight precision: fp32, fp16, bf16, int8.
    public static func named(_ name: String) -> ToleranceProfile? {
        switch name {
        case "fp32": return .fp32
        case "fp16": return .fp16
        case "bf16": return .bf16
        case "int8": return .int8
        case "fp16-compute": return .fp16Compute
        default: return nil
        }
    }

    var json: JSONValue {
        func n(_ f: Float) -> JSONValue { f.isFinite ? .double(Double(f)) : .null }
        return .object([
            ("name", .string(name)), ("logit_relative", n(logitRelative)), ("score_relative", n(scoreRelative)),
            ("logit_absolute", n(logitAbsolute)), ("min_spearman", .double(minSpearman)), ("min_top1", .double(minTop1)),
            ("near_tie_absolute", n(min(logitAbsolute, nearTieAbsolute))),
        ])
    }
}

extension Verifier.Report {
    /// The JSON report (formats/verify-report.md): `summary` first, then one entry per set. `modelWeightsSHA256`:
    /// the checked model's `ImportedModel.weightsSHA256()`, which `save-pretrained --report` matches.
    public func json(modelWeightsSHA256: String? = nil) -> String {
        func d(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .double($0) : .null } ?? .null }
        func f(_ x: Float) -> JSONValue { .double(Double(x)) }
        let setsJSON: [JSONValue] = sets.map { s in
            let failing = Int64(s.lists.filter { !$0.rankingPasses(profile) }.count)
            var members: [(String, JSONValue)] = [
                ("name", .string(s.name)), ("passed", .bool(s.passed)), ("failures", .array(s.failures.map { .string($0) })),
                ("pairs", .int(Int64(s.cases.count))),
                ("token_ids_identical", .int(Int64(s.tokenIdentical))), ("token_ids_checked", .int(Int64(s.tokenChecked))),
                ("max_abs_delta_logit", f(s.maxLogitDelta)), ("mean_abs_delta_logit", d(s.meanLogitDelta)),
                ("max_abs_delta_score", f(s.maxScoreDelta)), ("mean_abs_delta_score", d(s.meanScoreDelta)),
                ("ranked_lists", .int(Int64(s.lists.count))),
                ("min_spearman", d(s.minSpearman)), ("min_kendall_tau", d(s.minKendall)), ("top1_agreement", d(s.top1Agreement)),
                ("mean_topk_overlap", d(s.meanTopKOverlap)), ("mean_ndcg_at_10", d(s.meanNDCG10)), ("label_agreement", d(s.labelAgreement)),
                ("widest_swap_reference_gap", d(s.widestSwapGap)),
                ("lists_passing_as_near_ties", .int(Int64(s.listsPassingAsNearTies(profile).count))),
                ("lists_failing_ranking", .int(failing)),
                ("reordered_pairs_beyond_near_tie", .int(Int64(s.lists.map(\.beyondNearTie).reduce(0, +)))),
            ]
            if let w = s.worstCase {
                members.append(("worst_pair", .object([
                    ("id", .string(w.id)), ("abs_delta_logit", f(w.maxLogitDelta)),
                    ("reference_logits", .array(w.referenceLogits.map(f))), ("logits", .array(w.logits.map(f))),
                ])))
            }
            if let w = s.worstList {
                members.append(("worst_list", .object([("id", .string(w.id)), ("spearman", .double(w.spearman)), ("kendall_tau", .double(w.kendall))])))
            }
            members.append(("lists", .array(s.lists.map { l in
                .object([("id", .string(l.id)), ("size", .int(Int64(l.size))), ("spearman", .double(l.spearman)),
                         ("kendall_tau", .double(l.kendall)), ("top1_agrees", .bool(l.top1)), ("k", .int(Int64(l.k))),
                         ("topk_overlap", .double(l.topKOverlap)), ("ndcg_at_10", .double(l.ndcg10)),
                         ("swapped_pairs", .int(Int64(l.swappedPairs))), ("widest_swap_reference_gap", .double(l.widestSwapGap)),
                         ("reordered_pairs", .int(Int64(l.disagreements))), ("reordered_beyond_near_tie", .int(Int64(l.beyondNearTie))),
                         ("widest_reordered_reference_logit_gap", d(l.widestDisagreementLogitGap)),
                         ("top1_near_tie", .bool(l.top1NearTie)), ("ranking_passes", .bool(l.rankingPasses(profile)))])
            })))
            return .object(members)
        }
        let all = sets.flatMap(\.cases)
        let allLists = sets.flatMap(\.lists)
        let nearTieLists = Int64(sets.map { $0.listsPassingAsNearTies(profile).count }.reduce(0, +))
        let beyondNearTie = Int64(allLists.map(\.beyondNearTie).reduce(0, +))
        let failingLists = Int64(allLists.filter { !$0.rankingPasses(profile) }.count)
        let weightsDigest: JSONValue = modelWeightsSHA256.map { .string($0) } ?? .null
        let summary: JSONValue = .object([
            ("passed", .bool(passed)), ("model", .string(model)),
            ("model_weights_sha256", weightsDigest), ("precision", .string(precision)), ("profile", profile.json),
            ("integrity", integrityFailure.map { .string($0) } ?? .string("ok")),
            ("pairs", .int(Int64(all.count))),
            ("max_abs_delta_logit", f(all.map(\.maxLogitDelta).max() ?? 0)),
            ("mean_abs_delta_logit", d(mean(all.flatMap { c in zip(c.logits, c.referenceLogits).map { Double(abs($0 - $1)) } }))),
            ("max_abs_delta_score", f(all.map(\.maxScoreDelta).max() ?? 0)),
            ("ranked_lists", .int(Int64(allLists.count))),
            ("min_spearman", d(allLists.map(\.spearman).min())),
            ("min_kendall_tau", d(allLists.map(\.kendall).min())),
            ("top1_agreement", d(allLists.isEmpty ? nil : Double(allLists.filter(\.top1).count) / Double(allLists.count))),
            ("mean_ndcg_at_10", d(allLists.isEmpty ? nil : mean(allLists.map(\.ndcg10)))),
            ("widest_swap_reference_gap", d(allLists.isEmpty ? nil : allLists.map(\.widestSwapGap).max())),
            ("lists_passing_as_near_ties", .int(nearTieLists)),
            ("lists_failing_ranking", .int(failingLists)),
            ("reordered_pairs_beyond_near_tie", .int(beyondNearTie)),
            ("token_ids_identical", .int(Int64(sets.map(\.tokenIdentical).reduce(0, +)))),
            ("token_ids_checked", .int(Int64(sets.map(\.tokenChecked).reduce(0, +)))),
        ])
        return JSONWriter.write(.object([("format", .string("cetool-verify-report")), ("format_version", .int(1)),
                                         ("summary", summary), ("sets", .array(setsJSON))])) + "\n"
    }

    /// A short human summary, one block per set.
    public func text() -> String {
        var out = "\(passed ? "PASS" : "FAIL")  \(model)  precision \(precision), profile \(profile.name)\n"
        if let i = integrityFailure { out += "  integrity: \(i)\n" }
        for s in sets {
            out += "  \(s.passed ? "pass" : "FAIL")  \(s.name): \(s.cases.count) pairs"
            if s.tokenChecked > 0 { out += ", token ids identical \(s.tokenIdentical)/\(s.tokenChecked)" }
            out += String(format: "\n        |Δlogit| max %.3g mean %.3g, |Δscore| max %.3g mean %.3g",
                          s.maxLogitDelta, s.meanLogitDelta, s.maxScoreDelta, s.meanScoreDelta)
            if let w = s.worstCase { out += " (worst pair \(w.id))" }
            out += "\n"
            if !s.lists.isEmpty {
                out += String(format: "        %d ranked lists: Spearman min %.4f, Kendall tau min %.4f, top-1 %.1f %%, top-%d overlap %.3f, NDCG@10 %.4f",
                              s.lists.count, s.minSpearman ?? .nan, s.minKendall ?? .nan, 100 * (s.top1Agreement ?? 0),
                              s.lists.map(\.k).max() ?? 0, s.meanTopKOverlap ?? .nan, s.meanNDCG10 ?? .nan)
                if let w = s.worstList { out += " (worst list \(w.id))" }
                if let g = s.widestSwapGap, g > 0 { out += String(format: "\n        swapped documents at most %.3g apart in the reference's scores", g) }
                let nearTies = s.listsPassingAsNearTies(profile)
                if !nearTies.isEmpty {
                    let gaps = nearTies.compactMap(\.widestDisagreementLogitGap)
                    out += String(format: "\n        %d list%@ below Spearman %g pass%@ as near-ties: every reordered pair within the %@ near-tie bound (reference logits at most %.3g apart)",
                                  nearTies.count, nearTies.count == 1 ? "" : "s", profile.minSpearman, nearTies.count == 1 ? "es" : "",
                                  profile.name, gaps.max() ?? 0)
                }
                out += "\n"
            }
            if let a = s.labelAgreement { out += String(format: "        arg-max label agreement %.1f %%\n", 100 * a) }
            for f in s.failures { out += "        ✗ \(f)\n" }
        }
        return out
    }

    /// SVG: reference vs candidate logits (scatter, y = x line) and a histogram of Δlogit.
    public func svg() -> String {
        let pts = sets.flatMap { s in s.cases.flatMap { c in zip(c.referenceLogits, c.logits).map { (Double($0), Double($1)) } } }
        let w = 900.0, h = 420.0, pad = 50.0, panel = (w - 3 * pad) / 2
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(pad)\" y=\"20\" font-size=\"14\">\(esc(model)) (\(precision)) against the reference: \(passed ? "pass" : "fail"), profile \(profile.name)</text>\n"
        guard !pts.isEmpty else { return s + "</svg>\n" }
        // Scatter.
        let lo = pts.map { min($0.0, $0.1) }.min()!, hi = pts.map { max($0.0, $0.1) }.max()!
        let span = hi > lo ? hi - lo : 1
        let top = 40.0, size = h - top - pad
        func px(_ v: Double) -> Double { pad + (v - lo) / span * panel }
        func py(_ v: Double) -> Double { top + size - (v - lo) / span * size }
        s += "<rect x=\"\(pad)\" y=\"\(top)\" width=\"\(panel)\" height=\"\(size)\" fill=\"none\" stroke=\"#999\"/>\n"
        s += "<line x1=\"\(px(lo))\" y1=\"\(py(lo))\" x2=\"\(px(hi))\" y2=\"\(py(hi))\" stroke=\"#c33\" stroke-dasharray=\"4 3\"/>\n"
        for (r, o) in pts { s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"#2a6\" fill-opacity=\"0.6\"/>\n", px(r), py(o)) }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\">reference logit (%.3g … %.3g)</text>\n", pad, h - 15, lo, hi)
        s += String(format: "<text x=\"15\" y=\"%.1f\" transform=\"rotate(-90 15 %.1f)\">converted logit</text>\n", top + size / 2, top + size / 2)
        // Histogram of Δ.
        let deltas = pts.map { $0.1 - $0.0 }
        let dmax = max(deltas.map(abs).max()!, 1e-12)
        let bins = 41
        var counts = [Int](repeating: 0, count: bins)
        for d in deltas { counts[min(bins - 1, max(0, Int(((d + dmax) / (2 * dmax) * Double(bins)).rounded(.down))))] += 1 }
        let cmax = Double(counts.max()!)
        let x0 = 2 * pad + panel, bw = panel / Double(bins)
        s += "<rect x=\"\(x0)\" y=\"\(top)\" width=\"\(panel)\" height=\"\(size)\" fill=\"none\" stroke=\"#999\"/>\n"
        for (i, c) in counts.enumerated() where c > 0 {
            let bh = Double(c) / cmax * (size - 10)
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#36c\"/>\n", x0 + Double(i) * bw, top + size - bh, bw - 1, bh)
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\">Δlogit, converted − reference (±%.3g), %d values</text>\n", x0, h - 15, dmax, deltas.count)
        return s + "</svg>\n"
    }
}

private func esc(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

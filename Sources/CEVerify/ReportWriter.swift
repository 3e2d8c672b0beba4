import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

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
            ("logit_absolute", n(logitAbsolute)), ("min_spearman", minSpearman.isFinite ? .double(minSpearman) : .null),
            ("min_top1", .double(minTop1)), ("near_tie_absolute", n(min(logitAbsolute, nearTieAbsolute))),
            ("max_mean_delta_logit_per_std", maxMeanLogitDeltaPerStd.map { .double($0) } ?? .null),
            ("min_label_agreement", minLabelAgreement.map { .double($0) } ?? .null),
            ("min_mean_spearman", minMeanSpearman.map { .double($0) } ?? .null),
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
                ("rules", .array(s.rules.map { .object([("rule", .string($0.name)), ("passed", .bool($0.passed)), ("detail", .string($0.detail))]) })),
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
                    let below = profile.minSpearman.isFinite ? String(format: " below Spearman %g", profile.minSpearman) : " reordered"
                    out += String(format: "\n        %d list%@%@ pass%@ as near-ties: every reordered pair within the %@ near-tie bound (reference logits at most %.3g apart)",
                                  nearTies.count, nearTies.count == 1 ? "" : "s", below, nearTies.count == 1 ? "es" : "",
                                  profile.name, gaps.max() ?? 0)
                }
                out += "\n"
            }
            if let a = s.labelAgreement { out += String(format: "        arg-max label agreement %.1f %%\n", 100 * a) }
            for r in s.rules { out += "        \(r.passed ? "✓" : "✗") \(r.name): \(r.detail)\n" }
        }
        return out
    }

    /// SVG: reference vs candidate logits (scatter with the y = x line; logits beyond the profile's per-logit bound
    /// in red) and a histogram of Δlogit, both with ticked axes and a legend.
    public func svg() -> String {
        // (reference, candidate, beyond the per-logit bound)
        let pts = sets.flatMap { s in s.cases.flatMap { c in zip(c.referenceLogits, c.logits).map { r, o in
            (Double(r), Double(o), !(abs(o - r) <= min(profile.logitBound(r), profile.logitAbsolute)))
        } } }
        let w = 900.0, h = 460.0, pad = 60.0, panel = (w - 3 * pad) / 2, top = 60.0, size = h - top - pad
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(pad)\" y=\"20\" font-size=\"14\">\(esc(model)) (\(precision)) against the reference: \(passed ? "pass" : "fail"), profile \(profile.name)</text>\n"
        guard !pts.isEmpty else { return s + "</svg>\n" }
        let failing = pts.filter(\.2).count
        // Legend.
        let boundText = profile.logitAbsolute.isFinite ? String(format: "|Δlogit| > %g", profile.logitAbsolute)
            : profile.logitRelative.isFinite ? String(format: "|Δlogit| > %g·max(1, |reference|)", profile.logitRelative) : nil
        s += String(format: "<circle cx=\"%.1f\" cy=\"38\" r=\"3\" fill=\"#2a6\"/><text x=\"%.1f\" y=\"42\">within the bound (%d)</text>\n", pad + 5, pad + 12, pts.count - failing)
        if let boundText {
            s += String(format: "<circle cx=\"%.1f\" cy=\"38\" r=\"3\" fill=\"#d22\"/><text x=\"%.1f\" y=\"42\">failing: %@ (%d)</text>\n", pad + 185, pad + 192, boundText, failing)
        } else {
            s += String(format: "<text x=\"%.1f\" y=\"42\">the %@ profile bounds no single logit (rankings only)</text>\n", pad + 185, profile.name)
        }
        // Scatter.
        let lo = pts.map { min($0.0, $0.1) }.min()!, hi = pts.map { max($0.0, $0.1) }.max()!
        let span = hi > lo ? hi - lo : 1
        func px(_ v: Double) -> Double { pad + (v - lo) / span * panel }
        func py(_ v: Double) -> Double { top + size - (v - lo) / span * size }
        s += "<rect x=\"\(pad)\" y=\"\(top)\" width=\"\(panel)\" height=\"\(size)\" fill=\"none\" stroke=\"#999\"/>\n"
        for t in axisTicks(lo, hi) {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
                        px(t), top + size, px(t), top + size + 5, px(t), top + size + 18, label(t))
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n",
                        pad - 5, py(t), pad, py(t), pad - 7, py(t) + 4, label(t))
        }
        s += "<line x1=\"\(px(lo))\" y1=\"\(py(lo))\" x2=\"\(px(hi))\" y2=\"\(py(hi))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n"
        // Failing points last, so they are drawn over the passing ones.
        for (r, o, bad) in pts.filter({ !$0.2 }) + pts.filter(\.2) {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%@\" fill=\"%@\" fill-opacity=\"%@\"/>\n",
                        px(r), py(o), bad ? "3" : "2", bad ? "#d22" : "#2a6", bad ? "0.9" : "0.6")
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">reference logit</text>\n", pad + panel / 2, h - 12)
        s += String(format: "<text x=\"15\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 15 %.1f)\">converted logit</text>\n", top + size / 2, top + size / 2)
        return s + histogram(pts.map { $0.1 - $0.0 }, x0: 2 * pad + panel, top: top, panel: panel, size: size, h: h) + "</svg>\n"
    }

    /// The Δlogit histogram panel: 41 bins over ±max|Δ|, ticks on both axes, the profile's absolute bound dashed.
    private func histogram(_ deltas: [Double], x0: Double, top: Double, panel: Double, size: Double, h: Double) -> String {
        var s = ""
        let dmax = max(deltas.map(abs).max()!, 1e-12)
        let bins = 41
        var counts = [Int](repeating: 0, count: bins)
        for d in deltas { counts[min(bins - 1, max(0, Int(((d + dmax) / (2 * dmax) * Double(bins)).rounded(.down))))] += 1 }
        let cmax = Double(counts.max()!)
        let bw = panel / Double(bins)
        func hx(_ d: Double) -> Double { x0 + (d + dmax) / (2 * dmax) * panel }
        func hy(_ c: Double) -> Double { top + size - c / cmax * (size - 10) }
        s += "<rect x=\"\(x0)\" y=\"\(top)\" width=\"\(panel)\" height=\"\(size)\" fill=\"none\" stroke=\"#999\"/>\n"
        for (i, c) in counts.enumerated() where c > 0 {
            let bh = Double(c) / cmax * (size - 10)
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#36c\"/>\n", x0 + Double(i) * bw, top + size - bh, bw - 1, bh)
        }
        for t in axisTicks(-dmax, dmax) {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
                        hx(t), top + size, hx(t), top + size + 5, hx(t), top + size + 18, label(t))
        }
        for t in axisTicks(0, cmax) where t == t.rounded() {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n",
                        x0 - 5, hy(t), x0, hy(t), x0 - 7, hy(t) + 4, label(t))
        }
        let b = Double(profile.logitAbsolute)
        if b.isFinite, b < dmax {
            for x in [-b, b] {
                s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d22\" stroke-dasharray=\"4 3\"/>\n", hx(x), top, hx(x), top + size)
            }
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">Δlogit, converted − reference (%d values)</text>\n", x0 + panel / 2, h - 12, deltas.count)
        return s
    }
}

/// About five round tick values (steps of 1, 2 or 5 × 10^k) within lo...hi.
func axisTicks(_ lo: Double, _ hi: Double) -> [Double] {
    guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
    let raw = (hi - lo) / 5
    let mag = pow(10, (log10(raw)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    var out: [Double] = []
    var t = (lo / step).rounded(.up) * step
    while t <= hi + step * 1e-9, out.count < 20 {
        out.append(abs(t) < step * 1e-9 ? 0 : t)
        t += step
    }
    return out
}

private func label(_ v: Double) -> String { String(format: "%g", v) }

private func esc(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
}

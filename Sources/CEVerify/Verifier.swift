import CECore
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Score parity of a candidate model (e.g. a converted artifact) against reference outputs: a golden
/// set recorded by sentence-transformers, or the original model run by our fp32 runtime on any pairs.
public enum Verifier {
    /// What one reference provides: pairs with logits and scores, token ids when golden, ranked lists.
    public struct Reference: Sendable {
        public struct Case: Sendable {
            public var id: String
            public var query: String
            public var document: String
            public var logits: [Float]
            public var scores: [Float]
            /// The reference tokenizer's ids, type ids and mask; nil when the reference is our own runtime.
            public var tokens: (ids: [Int32], typeIDs: [Int32], mask: [Int32])?

            public init(id: String, query: String, document: String, logits: [Float], scores: [Float],
                        tokens: (ids: [Int32], typeIDs: [Int32], mask: [Int32])?) {
                self.id = id
                self.query = query
                self.document = document
                self.logits = logits
                self.scores = scores
                self.tokens = tokens
            }
        }
        public struct RankedList: Sendable {
            public var id: String
            public var query: String
            public var documents: [String]
            /// Reference score of each document, by corpus id.
            public var scores: [Float]

            public init(id: String, query: String, documents: [String], scores: [Float]) {
                self.id = id
                self.query = query
                self.documents = documents
                self.scores = scores
            }
        }
        public var name: String
        public var maxLength: Int?
        public var cases: [Case]
        public var lists: [RankedList]

        public init(name: String, maxLength: Int?, cases: [Case], lists: [RankedList]) {
            self.name = name
            self.maxLength = maxLength
            self.cases = cases
            self.lists = lists
        }
    }

    public struct CaseResult: Sendable {
        public var id: String
        public var referenceLogits: [Float]
        public var logits: [Float]
        public var referenceScores: [Float]
        public var scores: [Float]
        public var tokensIdentical: Bool?
        public var maxLogitDelta: Float { zip(logits, referenceLogits).map { abs($0 - $1) }.max() ?? 0 }
        public var maxScoreDelta: Float { zip(scores, referenceScores).map { abs($0 - $1) }.max() ?? 0 }
    }

    public struct ListResult: Sendable {
        public var id: String
        public var size: Int
        public var spearman: Double
        public var kendall: Double
        public var top1: Bool
        public var topKOverlap: Double
        public var k: Int
        public var ndcg10: Double
        /// Document pairs ordered the other way round from the reference, and the widest reference score gap
        /// among them (0 when none): a swap of documents the reference scores 1e-4 apart is a near-tie flipping,
        /// one of documents 0.2 apart is not.
        public var swappedPairs: Int = 0
        public var widestSwapGap: Double = 0
        /// Document pairs ordered differently from the reference (swapped, or tied on one side only), how many of
        /// them are not near-ties under the profile (ToleranceProfile.nearTieBound; a pair whose reference logits
        /// are unknown is never a near-tie), and the widest reference logit gap among them (nil when unknown).
        public var disagreements: Int = 0
        public var beyondNearTie: Int = 0
        public var widestDisagreementLogitGap: Double? = 0
        /// The top document changed but is a near-tie of the reference's top document.
        public var top1NearTie: Bool = false
        /// The list's ranking check: Spearman at least the profile's minimum, or no disagreement but near-ties.
        public func rankingPasses(_ profile: ToleranceProfile) -> Bool { spearman >= profile.minSpearman || beyondNearTie == 0 }
    }

    /// One rule of a profile applied to a set: its name, whether it held, and what was measured against what
    /// bound, with the worst case.
    public struct Rule: Sendable {
        public var name: String
        public var passed: Bool
        public var detail: String
    }

    public struct SetReport: Sendable {
        public var name: String
        public var cases: [CaseResult]
        public var lists: [ListResult]
        /// Every rule the profile judged this set by, in a fixed order.
        public var rules: [Rule]
        public var failures: [String] { rules.filter { !$0.passed }.map { "\($0.name): \($0.detail)" } }
        public var passed: Bool { rules.allSatisfy(\.passed) }

        public var tokenChecked: Int { cases.filter { $0.tokensIdentical != nil }.count }
        public var tokenIdentical: Int { cases.filter { $0.tokensIdentical == true }.count }
        public var maxLogitDelta: Float { cases.map(\.maxLogitDelta).max() ?? 0 }
        public var meanLogitDelta: Double { mean(cases.flatMap { c in zip(c.logits, c.referenceLogits).map { Double(abs($0 - $1)) } }) }
        public var maxScoreDelta: Float { cases.map(\.maxScoreDelta).max() ?? 0 }
        public var meanScoreDelta: Double { mean(cases.flatMap { c in zip(c.scores, c.referenceScores).map { Double(abs($0 - $1)) } }) }
        public var minSpearman: Double? { lists.map(\.spearman).min() }
        public var minKendall: Double? { lists.map(\.kendall).min() }
        public var top1Agreement: Double? { lists.isEmpty ? nil : Double(lists.filter(\.top1).count) / Double(lists.count) }
        public var meanTopKOverlap: Double? { lists.isEmpty ? nil : mean(lists.map(\.topKOverlap)) }
        public var meanNDCG10: Double? { lists.isEmpty ? nil : mean(lists.map(\.ndcg10)) }
        /// For several-label models: share of pairs whose arg-max label agrees.
        public var labelAgreement: Double? {
            guard let first = cases.first, first.logits.count > 1 else { return nil }
            return Double(cases.filter { argmax($0.logits) == argmax($0.referenceLogits) }.count) / Double(cases.count)
        }
        public var worstCase: CaseResult? { cases.max { $0.maxLogitDelta < $1.maxLogitDelta } }
        public var worstList: ListResult? { lists.min { $0.spearman < $1.spearman } }
        /// Lists that reorder documents, fall below the profile's Spearman (int8: every list does, its minimum being
        /// infinite) and pass because every pair they reorder is a near-tie.
        public func listsPassingAsNearTies(_ profile: ToleranceProfile) -> [ListResult] {
            lists.filter { $0.disagreements > 0 && $0.spearman < profile.minSpearman && $0.rankingPasses(profile) }
        }
        /// The widest reference score gap between two documents that changed places, over every list.
        public var widestSwapGap: Double? { lists.isEmpty ? nil : lists.map(\.widestSwapGap).max() }
    }

    public struct Report: Sendable {
        public var model: String
        public var precision: String
        public var profile: ToleranceProfile
        public var sets: [SetReport]
        /// Set when the artifact's manifest check failed.
        public var integrityFailure: String?
        public var passed: Bool { sets.allSatisfy(\.passed) && !sets.isEmpty && integrityFailure == nil }

        public init(model: String, precision: String, profile: ToleranceProfile, sets: [SetReport], integrityFailure: String?) {
            self.model = model
            self.precision = precision
            self.profile = profile
            self.sets = sets
            self.integrityFailure = integrityFailure
        }
    }

    /// Scores `reference`'s pairs and lists with `model` and checks them against `profile`.
    public static func compare(_ model: CrossEncoder, reference: Reference, profile: ToleranceProfile, batchSize: Int = 32) throws -> SetReport {
        let pairs = reference.cases.map { ($0.query, $0.document) }
        let logits = try model.logits(pairs, batchSize: batchSize)
        let encodings = try model.encode(pairs)
        var cases: [CaseResult] = []
        for (i, c) in reference.cases.enumerated() {
            var scores = Scoring.apply(model.activation, to: logits[i])
            if c.scores.count != scores.count { scores = Scoring.apply(.softmax, to: scores) }
            var same: Bool?
            if let t = c.tokens {
                same = encodings[i].ids == t.ids && encodings[i].typeIDs == t.typeIDs && encodings[i].attentionMask == t.mask
            }
            cases.append(CaseResult(id: c.id, referenceLogits: c.logits, logits: logits[i], referenceScores: c.scores, scores: scores, tokensIdentical: same))
        }
        var rules = valueRules(cases, profile: profile)
        var lists: [ListResult] = []
        if model.numLabels == 1 {
            // A list pair that is also a case (a golden file records the held-out lists' pairs as cases) takes the
            // case's score: rank is predict then sort, so only the pairs not scored yet are run, in one batch run.
            var scored: [String: Double] = [:]
            for (r, c) in zip(reference.cases, cases) where c.scores.count == 1 { scored[r.query + "\u{0}" + r.document] = Double(c.scores[0]) }
            var missing: [(String, String)] = [], seen = Set<String>()
            for l in reference.lists {
                for d in l.documents where scored[l.query + "\u{0}" + d] == nil && seen.insert(l.query + "\u{0}" + d).inserted {
                    missing.append((l.query, d))
                }
            }
            for (p, v) in zip(missing, try model.predict(missing, batchSize: batchSize)) { scored[p.0 + "\u{0}" + p.1] = Double(v) }
            // The reference's logit of each list pair, for the near-tie rule: the case's logit where the pair is a
            // case, else the reference score taken back through the activation (nil where it cannot be).
            var referenceLogit: [String: Float] = [:]
            for c in reference.cases where c.logits.count == 1 { referenceLogit[c.query + "\u{0}" + c.document] = c.logits[0] }
            for l in reference.lists {
                let ours = l.documents.map { scored[l.query + "\u{0}" + $0]! }
                let ref = l.scores.map(Double.init)
                let refLogits = zip(l.documents, l.scores).map { d, s in
                    referenceLogit[l.query + "\u{0}" + d] ?? Scoring.inverse(model.activation, of: s)
                }
                let k = min(3, l.documents.count)
                let sw = RankMetrics.swaps(reference: ref, candidate: ours)
                var beyond = 0
                var widestLogitGap: Double? = 0
                func nearTie(_ i: Int, _ j: Int) -> Bool {
                    guard ours[i].isFinite, ours[j].isFinite, let a = refLogits[i], let b = refLogits[j] else { return false }
                    return abs(a - b) <= profile.nearTieBound(a) + profile.nearTieBound(b)
                }
                let disagreements = RankMetrics.disagreements(reference: ref, candidate: ours)
                for (i, j) in disagreements {
                    if !nearTie(i, j) { beyond += 1 }
                    if let a = refLogits[i], let b = refLogits[j], let w = widestLogitGap { widestLogitGap = max(w, Double(abs(a - b))) } else { widestLogitGap = nil }
                }
                let oursOrder = RankMetrics.order(ours), refOrder = RankMetrics.order(ref)
                let top1 = oursOrder.first == refOrder.first
                let top1NearTie = !top1 && !oursOrder.isEmpty && nearTie(oursOrder[0], refOrder[0])
                lists.append(ListResult(
                    id: l.id, size: l.documents.count,
                    spearman: RankMetrics.spearman(ours, ref) ?? (ours == ref ? 1 : 0),
                    kendall: RankMetrics.kendallTauB(ours, ref) ?? (ours == ref ? 1 : 0),
                    top1: top1,
                    topKOverlap: RankMetrics.topKOverlap(reference: ref, candidate: ours, k: k), k: k,
                    ndcg10: RankMetrics.ndcg(reference: ref, candidate: ours, k: 10),
                    swappedPairs: sw.count, widestSwapGap: sw.widestReferenceGap,
                    disagreements: disagreements.count, beyondNearTie: beyond, widestDisagreementLogitGap: widestLogitGap,
                    top1NearTie: top1NearTie))
            }
        }
        rules += listRules(lists, profile: profile)
        if cases.isEmpty && lists.isEmpty {
            rules.append(Rule(name: "pairs", passed: false, detail: "the reference holds no pair and no ranked list: nothing was compared"))
        }
        return SetReport(name: reference.name, cases: cases, lists: lists, rules: rules)
    }

    static func f(_ x: Double) -> String { String(format: "%.3g", x) }

    /// The rules on single values and their set: token ids, each logit, each score, mean |Δlogit| against the
    /// reference's spread, arg-max labels. A NaN anywhere fails the rule it reaches (every comparison is `<=`).
    static func valueRules(_ cases: [CaseResult], profile: ToleranceProfile) -> [Rule] {
        var rules: [Rule] = []
        let checked = cases.filter { $0.tokensIdentical != nil }
        if !checked.isEmpty {
            let differ = checked.filter { $0.tokensIdentical == false }
            rules.append(Rule(name: "token ids", passed: differ.isEmpty,
                              detail: "identical on \(checked.count - differ.count) of \(checked.count) pairs" + (differ.first.map { " (first differing: \($0.id))" } ?? "")))
        }
        if !cases.isEmpty, profile.logitRelative.isFinite || profile.logitAbsolute.isFinite {
            var out = 0, total = 0
            var worstRatio: Float = 0, worst = ""
            for c in cases {
                if c.logits.count != c.referenceLogits.count {
                    out += 1
                    total += 1
                    if worst.isEmpty || worstRatio < .infinity { worstRatio = .infinity; worst = "\(c.id): \(c.logits.count) labels against \(c.referenceLogits.count)" }
                    continue
                }
                for (o, r) in zip(c.logits, c.referenceLogits) {
                    total += 1
                    let bound = min(profile.logitBound(r), profile.logitAbsolute)
                    let ratio = abs(o - r) / bound
                    if !(abs(o - r) <= bound) { out += 1 }
                    let key = ratio.isNaN ? Float.infinity : ratio
                    if worst.isEmpty || key > worstRatio { worstRatio = key; worst = "\(c.id): \(o) against \(r)" }
                }
            }
            let bound = profile.logitAbsolute.isFinite ? "≤ \(profile.logitAbsolute)" : "≤ \(profile.logitRelative) · max(1, |reference|)"
            rules.append(Rule(name: "each logit", passed: out == 0,
                              detail: "|Δlogit| \(bound): \(out) of \(total) outside; worst \(worst) at \(f(Double(worstRatio)))× its bound"))
        }
        if !cases.isEmpty, profile.scoreRelative.isFinite {
            var out = 0, total = 0
            for c in cases { for (o, r) in zip(c.scores, c.referenceScores) { total += 1; if !(abs(o - r) <= profile.scoreBound(r)) { out += 1 } } }
            rules.append(Rule(name: "each score", passed: out == 0,
                              detail: "|Δscore| ≤ \(profile.scoreRelative) · max(1, |reference|): \(out) of \(total) outside"))
        }
        if let k = profile.maxMeanLogitDeltaPerStd, !cases.isEmpty {
            let refs = cases.flatMap { $0.referenceLogits.map(Double.init) }
            let deltas = cases.flatMap { c in zip(c.logits, c.referenceLogits).map { Double(abs($0 - $1)) } }
            let m = mean(refs)
            let std = (mean(refs.map { ($0 - m) * ($0 - m) })).squareRoot()
            let meanDelta = mean(deltas)
            if refs.count >= 2 && std > 0 {
                rules.append(Rule(name: "mean |Δlogit|", passed: meanDelta <= k * std,
                                  detail: "\(f(meanDelta)) against \(k) × the reference logits' standard deviation \(f(std)) = \(f(k * std))"))
            } else {
                // One reference logit, or all equal: no spread to scale by; the rule is not judged (said, not hidden).
                rules.append(Rule(name: "mean |Δlogit|", passed: meanDelta.isFinite,
                                  detail: "\(f(meanDelta)); not judged: the reference logits have no spread (\(refs.count) values)"))
            }
        }
        if let minAgree = profile.minLabelAgreement, let first = cases.first, first.logits.count > 1 {
            let agree = cases.filter { c in
                c.logits.count == c.referenceLogits.count && c.logits.allSatisfy(\.isFinite) && argmax(c.logits) == argmax(c.referenceLogits)
            }
            let share = Double(agree.count) / Double(cases.count)
            let firstOff = cases.first { c in !agree.contains { $0.id == c.id } }
            rules.append(Rule(name: "arg-max label", passed: share >= minAgree,
                              detail: "agrees on \(agree.count) of \(cases.count) pairs (\(f(100 * share)) %, at least \(f(100 * minAgree)) % asked)"
                                + (firstOff.map { "; first differing: \($0.id)" } ?? "")))
        }
        return rules
    }

    /// The rules on ranked lists: each list's ranking check (Spearman, or near-ties only), mean Spearman, top-1.
    static func listRules(_ lists: [ListResult], profile: ToleranceProfile) -> [Rule] {
        guard !lists.isEmpty else { return [] }
        var rules: [Rule] = []
        let failing = lists.filter { !$0.rankingPasses(profile) }
        let pairRule = profile.minSpearman.isFinite
            ? "Spearman ≥ \(profile.minSpearman), or every reordered document pair a near-tie"
            : "no reordered document pair beyond the near-tie bound (reference logits more than \(2 * profile.nearTieAbsolute) apart)"
        var detail = "\(pairRule): \(lists.count - failing.count) of \(lists.count) lists pass"
        if let worst = failing.max(by: { ($0.beyondNearTie, -$0.spearman) < ($1.beyondNearTie, -$1.spearman) }) {
            let gap = worst.widestDisagreementLogitGap.map { f($0) } ?? "unknown"
            detail += "; worst \(worst.id): Spearman \(String(format: "%.4f", worst.spearman)), \(worst.beyondNearTie) of its "
                + "\(worst.disagreements) reordered pairs not near-ties (reference logits up to \(gap) apart)"
        } else if let worst = lists.min(by: { $0.spearman < $1.spearman }) {
            detail += "; lowest Spearman \(String(format: "%.4f", worst.spearman)) (\(worst.id))"
        }
        rules.append(Rule(name: "ranked lists", passed: failing.isEmpty, detail: detail))
        if let minMean = profile.minMeanSpearman {
            let m = mean(lists.map(\.spearman))
            rules.append(Rule(name: "mean Spearman", passed: m >= minMean,
                              detail: "\(String(format: "%.4f", m)) over \(lists.count) lists, at least \(minMean) asked"))
        }
        let agreeing = lists.filter { $0.top1 || $0.top1NearTie }
        let top1 = Double(agreeing.count) / Double(lists.count)
        let firstOff = lists.first { !$0.top1 && !$0.top1NearTie }
        rules.append(Rule(name: "top-1", passed: top1 >= profile.minTop1,
                          detail: "\(agreeing.count) of \(lists.count) lists agree (\(f(100 * top1)) %, near-ties counted as agreeing; "
                            + "at least \(f(100 * profile.minTop1)) % asked)" + (firstOff.map { "; first differing: \($0.id)" } ?? "")))
        return rules
    }

    /// A golden set as a reference.
    public static func reference(from g: GoldenSet) -> Reference {
        Reference(
            name: g.path, maxLength: g.maxLength,
            cases: g.cases.map { Reference.Case(id: $0.id, query: $0.query, document: $0.document, logits: $0.logits, scores: $0.scores,
                                                tokens: ($0.inputIDs, $0.tokenTypeIDs, $0.attentionMask)) },
            lists: g.rankings.map { r in
                var s = [Float](repeating: 0, count: r.documents.count)
                for (i, v) in r.result where i >= 0 && i < s.count { s[i] = v }
                return Reference.RankedList(id: r.id, query: r.query, documents: r.documents, scores: s)
            })
    }

    /// The original model run by our fp32 runtime on `pairs` as a reference. Pairs sharing a query
    /// (two or more documents) form the ranked lists.
    public static func reference(original: CrossEncoder, pairs: [(String, String)], name: String, batchSize: Int = 32) throws -> Reference {
        let logits = try original.logits(pairs, batchSize: batchSize)
        var cases: [Reference.Case] = []
        var byQuery: [String: [Int]] = [:]
        var queries: [String] = []
        for (i, p) in pairs.enumerated() {
            cases.append(Reference.Case(id: "pair-\(i + 1)", query: p.0, document: p.1, logits: logits[i],
                                        scores: Scoring.apply(original.activation, to: logits[i]), tokens: nil))
            if byQuery[p.0] == nil { queries.append(p.0) }
            byQuery[p.0, default: []].append(i)
        }
        var lists: [Reference.RankedList] = []
        if original.numLabels == 1 {
            for (qi, q) in queries.enumerated() {
                let idx = byQuery[q]!
                guard idx.count >= 2 else { continue }
                lists.append(Reference.RankedList(id: "query-\(qi + 1)", query: q, documents: idx.map { pairs[$0].1 },
                                                  scores: idx.map { cases[$0].scores[0] }))
            }
        }
        return Reference(name: name, maxLength: nil, cases: cases, lists: lists)
    }
}

func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
func argmax(_ v: [Float]) -> Int { v.indices.max { (v[$0], -$0) < (v[$1], -$1) } ?? 0 }

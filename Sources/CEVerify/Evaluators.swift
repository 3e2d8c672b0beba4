#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum EvaluationError: Error, Equatable, CustomStringConvertible {
    case empty(what: String)
    /// Pearson and Spearman need two pairs at least (scipy.stats.pearsonr refuses fewer).
    case tooFewPairs(count: Int)
    case countMismatch(what: String, expected: Int, got: Int)
    case nonFiniteScore(index: Int)
    case nonFiniteLabel(index: Int)
    /// A one-label model scores binary classification: labels must be 0 or 1.
    case notBinaryLabel(index: Int, label: Int)
    case negativeLabel(index: Int, label: Int)
    case needsOneLabel(task: String, numLabels: Int)
    case scoreRowWidth(index: Int, expected: Int, got: Int)
    /// NDCG needs more than one document per query (sklearn's ndcg_score refuses one).
    case tooFewDocuments(sample: Int, count: Int)
    case emptyDocuments(sample: Int)
    case badAtK(Int)
    case badName(String)

    public var description: String {
        switch self {
        case .empty(let w): return "no \(w) to evaluate"
        case .tooFewPairs(let n): return "a correlation needs at least 2 pairs (got \(n))"
        case .countMismatch(let w, let e, let g): return "\(w): expected \(e) values, got \(g)"
        case .nonFiniteScore(let i): return "the score of pair \(i + 1) is not finite"
        case .nonFiniteLabel(let i): return "the label of example \(i + 1) is not finite"
        case .notBinaryLabel(let i, let l):
            return "example \(i + 1) has label \(l): a one-label model is evaluated as binary classification, labels must be 0 or 1"
        case .negativeLabel(let i, let l): return "example \(i + 1) has label \(l): class labels are non-negative integers"
        case .needsOneLabel(let t, let n): return "\(t) needs a one-label model (this one has \(n) labels)"
        case .scoreRowWidth(let i, let e, let g): return "the scores of pair \(i + 1) have \(g) values, expected \(e)"
        case .tooFewDocuments(let s, let n):
            return "sample \(s + 1) ranks \(n) document(s): NDCG needs more than one document per query"
        case .emptyDocuments(let s): return "sample \(s + 1): \"documents\" is empty"
        case .badAtK(let k): return "at_k must be at least 1 (got \(k))"
        case .badName(let n): return "evaluator name \(n.debugDescription) cannot be part of a file name"
        }
    }
}

/// One figure as the reference holds it when csv.writer prints it: a Python int (a value never updated
/// from its initial 0), a float64, or a numpy float32 (a threshold taken from the float32 scores).
public enum EvaluationFigure: Sendable, Equatable {
    case int(Int)
    case double(Double)
    case float(Float)

    /// float(value), as prefix_name_to_metrics returns it.
    public var value: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .float(let f): return Double(f)
        }
    }

    /// str(value): what csv.writer writes.
    public var csvText: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return PythonNumber.repr(d)
        case .float(let f): return PythonNumber.numpyStr(f)
        }
    }
}

/// What one sentence-transformers 6.2 cross-encoder evaluator computes and writes.
public struct EvaluationResult: Sendable {
    public struct Metric: Sendable {
        public var key: String
        public var figure: EvaluationFigure
    }
    /// The 6.2 class: CrossEncoderClassificationEvaluator, CrossEncoderCorrelationEvaluator, CrossEncoderRerankingEvaluator.
    public var evaluator: String
    public var name: String
    /// Unprefixed keys, in the reference's order.
    public var metrics: [Metric]
    /// Unprefixed key of the primary metric.
    public var primaryKey: String
    public var csvFile: String
    public var csvHeaders: [String]
    /// The CSV row after epoch and steps.
    public var csvRow: [EvaluationFigure]

    /// `name_key` when a name is set (BaseEvaluator.prefix_name_to_metrics).
    public func prefixed(_ key: String) -> String { name.isEmpty ? key : name + "_" + key }
    public var primaryMetric: String { prefixed(primaryKey) }
    /// What the evaluator's __call__ returns: prefixed keys, float values.
    public var returnedMetrics: [(key: String, value: Double)] { metrics.map { (prefixed($0.key), $0.figure.value) } }

    public func value(_ key: String) -> Double? { metrics.first { $0.key == key }?.figure.value }

    /// csv.writer's lines (`\r\n` terminated): the header only when the file is new, then one row.
    public func csvText(includeHeader: Bool, epoch: Int = -1, steps: Int = -1) -> String {
        var out = includeHeader ? csvHeaders.joined(separator: ",") + "\r\n" : ""
        out += ([String(epoch), String(steps)] + csvRow.map(\.csvText)).joined(separator: ",") + "\r\n"
        return out
    }
}

/// sentence-transformers 6.2's cross-encoder evaluators as pure functions of the model's scores and the gold
/// labels (sentence_transformers/cross_encoder/evaluation/{classification,correlation,reranking}.py). The
/// old names map onto them as 6.2 ships them: CEBinaryAccuracyEvaluator, CEBinaryClassificationEvaluator,
/// CEF1Evaluator and CESoftmaxAccuracyEvaluator are CrossEncoderClassificationEvaluator (binary figures for a
/// one-label model, macro/micro/weighted F1 for more labels), CECorrelationEvaluator is
/// CrossEncoderCorrelationEvaluator, CERerankingEvaluator is CrossEncoderRerankingEvaluator.
/// Scores are what CrossEncoder.predict returns: float32, the model's activation applied.
public enum Evaluators {
    /// The evaluator's name becomes part of a file name (write_csv): no "/" and no NUL.
    public static func checkName(_ name: String) throws {
        if name.contains("/") || name.contains("\0") { throw EvaluationError.badName(name) }
    }

    static func checkFinite(_ scores: [Float]) throws {
        if let i = scores.firstIndex(where: { !$0.isFinite }) { throw EvaluationError.nonFiniteScore(index: i) }
    }

    // MARK: classification

    /// CrossEncoderClassificationEvaluator. `scores`: one row of numLabels per pair.
    public static func classification(scores: [[Float]], labels: [Int], numLabels: Int, name: String = "") throws -> EvaluationResult {
        try checkName(name)
        guard !labels.isEmpty else { throw EvaluationError.empty(what: "pairs") }
        guard scores.count == labels.count else { throw EvaluationError.countMismatch(what: "scores", expected: labels.count, got: scores.count) }
        for (i, row) in scores.enumerated() {
            guard row.count == numLabels else { throw EvaluationError.scoreRowWidth(index: i, expected: numLabels, got: row.count) }
            try checkFinite(row)
        }
        try checkClassLabels(labels, numLabels: numLabels)
        let file = "CrossEncoderClassificationEvaluator" + (name.isEmpty ? "" : "_" + name) + "_results.csv"
        if numLabels == 1 {
            let s = scores.map { $0[0] }
            let (acc, accThreshold) = bestAccuracyAndThreshold(scores: s, labels: labels)
            let f1 = bestF1AndThreshold(scores: s, labels: labels)
            let ap = EvaluationFigure.double(averagePrecision(labels: labels, scores: s.map(Double.init)))
            let m: [(String, EvaluationFigure)] = [("accuracy", acc), ("accuracy_threshold", accThreshold), ("f1", f1.f1),
                                                   ("f1_threshold", f1.threshold), ("precision", f1.precision),
                                                   ("recall", f1.recall), ("average_precision", ap)]
            return EvaluationResult(evaluator: "CrossEncoderClassificationEvaluator", name: name,
                                    metrics: m.map { .init(key: $0.0, figure: $0.1) }, primaryKey: "average_precision",
                                    csvFile: file,
                                    csvHeaders: ["epoch", "steps", "Accuracy", "Accuracy_Threshold", "F1", "F1_Threshold",
                                                 "Precision", "Recall", "Average_Precision"],
                                    csvRow: m.map(\.1))
        }
        let predicted = scores.map(argmax)
        let f = f1Averages(labels: labels, predicted: predicted)
        let m: [(String, EvaluationFigure)] = [("f1_macro", .double(f.macro)), ("f1_micro", .double(f.micro)),
                                               ("f1_weighted", .double(f.weighted))]
        return EvaluationResult(evaluator: "CrossEncoderClassificationEvaluator", name: name,
                                metrics: m.map { .init(key: $0.0, figure: $0.1) }, primaryKey: "f1_macro", csvFile: file,
                                csvHeaders: ["epoch", "steps", "Macro_F1", "Micro_F1", "Weighted_F1"], csvRow: m.map(\.1))
    }

    /// Labels a classification can take, known before any scoring: 0 or 1 for a one-label model (sklearn's
    /// average_precision_score refuses multiclass labels against 1-D scores), non-negative ids otherwise.
    public static func checkClassLabels(_ labels: [Int], numLabels: Int) throws {
        for (i, l) in labels.enumerated() {
            if numLabels == 1, l != 0 && l != 1 { throw EvaluationError.notBinaryLabel(index: i, label: l) }
            if l < 0 { throw EvaluationError.negativeLabel(index: i, label: l) }
        }
    }

    /// np.argmax: the first of the largest values.
    public static func argmax(_ row: [Float]) -> Int {
        var best = 0
        for i in row.indices.dropFirst() where row[i] > row[best] { best = i }
        return best
    }

    /// BinaryClassificationEvaluator.find_best_acc_and_threshold(scores, labels, True): scores sorted
    /// descending, one candidate cut after each group of equal scores; the threshold is the float32 midpoint
    /// ((s + next) / 2 rounded to float32) of the cut, the group's score when the midpoint rounds onto the next
    /// group or at the end, and nextafter(max, +inf) in float32 for "everything below". Only a strictly better
    /// accuracy moves the threshold.
    public static func bestAccuracyAndThreshold(scores: [Float], labels: [Int]) -> (accuracy: EvaluationFigure, threshold: EvaluationFigure) {
        guard !scores.isEmpty else { return (.int(0), .int(-1)) }
        let n = Double(labels.count)
        let rows = sortedDescending(scores, labels)
        var remainingNegatives = labels.filter { $0 == 0 }.count
        var positives = 0
        var maxAcc = Double(remainingNegatives) / n
        var best = rows[0].0.nextUp
        for i in rows.indices {
            let (score, label) = rows[i]
            if label == 1 { positives += 1 } else if label == 0 { remainingNegatives -= 1 }
            let isLast = i == rows.count - 1
            if !isLast && score == rows[i + 1].0 { continue }
            let acc = Double(positives + remainingNegatives) / n
            if acc > maxAcc {
                maxAcc = acc
                best = isLast ? score : (score + rows[i + 1].0) / 2
                if !isLast && best == rows[i + 1].0 { best = score }
            }
        }
        return (.double(maxAcc), .float(best))
    }

    /// BinaryClassificationEvaluator.find_best_f1_and_threshold(scores, labels, True): the same cuts; F1,
    /// precision, recall and threshold stay the integer 0 until a cut with a true positive improves on F1.
    public static func bestF1AndThreshold(scores: [Float], labels: [Int])
        -> (f1: EvaluationFigure, precision: EvaluationFigure, recall: EvaluationFigure, threshold: EvaluationFigure) {
        let rows = sortedDescending(scores, labels)
        let totalPositives = labels.reduce(0, +)
        var best: (f1: Double, precision: Double, recall: Double, threshold: Float)?
        var extracted = 0, correct = 0
        for i in rows.indices {
            let (score, label) = rows[i]
            extracted += 1
            if label == 1 { correct += 1 }
            let isLast = i == rows.count - 1
            if !isLast && score == rows[i + 1].0 { continue }
            guard correct > 0 else { continue }
            let precision = Double(correct) / Double(extracted)
            let recall = Double(correct) / Double(totalPositives)
            let f1 = 2 * precision * recall / (precision + recall)
            if f1 > (best?.f1 ?? 0) {
                var threshold = isLast ? score : (score + rows[i + 1].0) / 2
                if !isLast && threshold == rows[i + 1].0 { threshold = score }
                best = (f1, precision, recall, threshold)
            }
        }
        guard let best else { return (.int(0), .int(0), .int(0), .int(0)) }
        return (.double(best.f1), .double(best.precision), .double(best.recall), .float(best.threshold))
    }

    /// Python's sorted(zip(scores, labels), key=score, reverse=True): stable, ties keep input order.
    static func sortedDescending(_ scores: [Float], _ labels: [Int]) -> [(Float, Int)] {
        scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.map { (scores[$0], labels[$0]) }
    }

    /// sklearn.metrics.average_precision_score for binary labels (1 = relevant): Σ (R_n − R_{n−1}) P_n over the
    /// distinct score thresholds, highest first, without interpolation; tied scores form one threshold. No
    /// positive label gives 0 (sklearn sets recall to 1 everywhere and warns).
    public static func averagePrecision(labels: [Int], scores: [Double]) -> Double {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        let totalPositives = labels.filter { $0 == 1 }.count
        guard totalPositives > 0 else { return 0 }
        var terms: [Double] = [], tp = 0, seen = 0, lastRecall = 0.0
        for (k, i) in order.enumerated() {
            seen += 1
            if labels[i] == 1 { tp += 1 }
            if k + 1 < order.count && scores[order[k + 1]] == scores[i] { continue }
            let recall = Double(tp) / Double(totalPositives)
            terms.append((recall - lastRecall) * (Double(tp) / Double(seen)))
            lastRecall = recall
        }
        // sklearn sums the terms lowest threshold first (its curve is reversed), with numpy's pairwise sum.
        return max(0, pairwiseSum(terms.reversed()))
    }

    /// numpy's float64 add.reduce over a contiguous array (np.sum, np.mean's numerator): blocks of up to 128
    /// values summed in 8 interleaved partial sums, larger arrays split in two at a multiple of 8. Reproducing
    /// the order keeps figures bit-identical to the reference's where the terms are.
    public static func pairwiseSum<C: Collection>(_ values: C) -> Double where C.Element == Double {
        let a = Array(values)
        func sum(_ lo: Int, _ n: Int) -> Double {
            if n < 8 {
                var r = -0.0
                for i in lo..<(lo + n) { r += a[i] }
                return r
            }
            if n <= 128 {
                var r = Array(a[lo..<(lo + 8)])
                var i = 8
                while i < n - n % 8 {
                    for j in 0..<8 { r[j] += a[lo + i + j] }
                    i += 8
                }
                var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
                while i < n { res += a[lo + i]; i += 1 }
                return res
            }
            var half = n / 2
            half -= half % 8
            return sum(lo, half) + sum(lo + half, n - half)
        }
        return sum(0, a.count)
    }

    /// sklearn.metrics.f1_score with average macro / micro / weighted over the union of gold and predicted
    /// labels: per label F1 = 2·tp / (gold count + predicted count); micro pools the counts (= accuracy).
    public static func f1Averages(labels: [Int], predicted: [Int]) -> (macro: Double, micro: Double, weighted: Double) {
        let classes = Set(labels).union(predicted).sorted()
        var tp = [Int: Int](), gold = [Int: Int](), pred = [Int: Int]()
        for (g, p) in zip(labels, predicted) {
            gold[g, default: 0] += 1
            pred[p, default: 0] += 1
            if g == p { tp[g, default: 0] += 1 }
        }
        func f1(_ t: Int, _ g: Int, _ p: Int) -> Double { g + p == 0 ? 0 : 2 * Double(t) / Double(g + p) }
        let per = classes.map { f1(tp[$0] ?? 0, gold[$0] ?? 0, pred[$0] ?? 0) }
        let macro = per.reduce(0, +) / Double(per.count)
        let tpAll = tp.values.reduce(0, +)
        let micro = f1(tpAll, labels.count, predicted.count)
        let weights = classes.map { Double(gold[$0] ?? 0) }
        let wsum = weights.reduce(0, +)
        let weighted = wsum > 0 ? zip(per, weights).reduce(0) { $0 + $1.0 * $1.1 } / wsum : 0
        return (macro, micro, weighted)
    }

    // MARK: correlation

    /// CrossEncoderCorrelationEvaluator: scipy.stats.pearsonr and spearmanr (average ranks for ties) of the gold
    /// scores against the model's; NaN when either side is constant, as scipy returns.
    public static func correlation(scores: [Float], gold: [Double], name: String = "") throws -> EvaluationResult {
        try checkName(name)
        guard gold.count >= 2 else { throw EvaluationError.tooFewPairs(count: gold.count) }
        guard scores.count == gold.count else { throw EvaluationError.countMismatch(what: "scores", expected: gold.count, got: scores.count) }
        try checkFinite(scores)
        if let i = gold.firstIndex(where: { !$0.isFinite }) { throw EvaluationError.nonFiniteLabel(index: i) }
        let s = scores.map(Double.init)
        let pearson = RankMetrics.pearson(gold, s) ?? .nan
        let spearman = RankMetrics.spearman(gold, s) ?? .nan
        let m: [(String, EvaluationFigure)] = [("pearson", .double(pearson)), ("spearman", .double(spearman))]
        return EvaluationResult(evaluator: "CrossEncoderCorrelationEvaluator", name: name,
                                metrics: m.map { .init(key: $0.0, figure: $0.1) }, primaryKey: "spearman",
                                csvFile: "CrossEncoderCorrelationEvaluator" + (name.isEmpty ? "" : "_" + name) + "_results.csv",
                                csvHeaders: ["epoch", "steps", "Pearson_Correlation", "Spearman_Correlation"], csvRow: m.map(\.1))
    }

    // MARK: reranking

    /// One CrossEncoderRerankingEvaluator sample: a query, its relevant documents, and either irrelevant ones
    /// (`negative`) or a first-stage ranking of candidates (`documents`, best first, positives among them).
    public struct RerankingSample: Sendable {
        public var query: String
        public var positive: [String]
        public var negative: [String]?
        public var documents: [String]?

        public init(query: String, positive: [String], negative: [String]? = nil, documents: [String]? = nil) {
            self.query = query
            self.positive = positive
            self.negative = negative
            self.documents = documents
        }
    }

    /// The pairs CrossEncoderRerankingEvaluator scores in one predict call, and how they split back per sample.
    public struct RerankingPlan: Sendable {
        /// (query, document) for every scored document of every sample with a relevant document, in order.
        public var pairs: [(String, String)]
        /// Per sample: relevance (1/0) of its scored documents, or nil when none is relevant (the sample counts 0).
        public var relevance: [[Int]?]
        /// Per sample given as `documents`: MAP/MRR/NDCG of the first-stage order, else nil.
        public var base: [(map: Double, mrr: Double, ndcg: Double)?]
        public var atK: Int
    }

    /// Python `x in list` for strings: code point equality (Swift's == would merge canonically equivalent text).
    static func contains(_ list: [String], _ s: String) -> Bool { list.contains { $0.unicodeScalars.elementsEqual(s.unicodeScalars) } }

    /// The first pass of CrossEncoderRerankingEvaluator.__call__. With `negative`: positives then negatives.
    /// With `documents`: the base figures of the given order (positives missing from it appended as relevant),
    /// then positives followed by the other documents when `alwaysRerankPositives`, else the documents as given.
    public static func rerankingPlan(samples: [RerankingSample], atK: Int = 10, alwaysRerankPositives: Bool = true) throws -> RerankingPlan {
        guard atK >= 1 else { throw EvaluationError.badAtK(atK) }
        guard !samples.isEmpty else { throw EvaluationError.empty(what: "reranking samples") }
        var plan = RerankingPlan(pairs: [], relevance: [], base: [], atK: atK)
        for (n, s) in samples.enumerated() {
            let docs: [String]
            let relevant: [Int]
            if let documents = s.documents {
                guard !documents.isEmpty else { throw EvaluationError.emptyDocuments(sample: n) }
                var baseRelevant = documents.map { contains(s.positive, $0) ? 1 : 0 }
                let found = baseRelevant.reduce(0, +)
                if found == 0 {
                    plan.base.append((0, 0, 0))
                } else {
                    baseRelevant += [Int](repeating: 1, count: max(0, s.positive.count - found))
                    guard baseRelevant.count > 1 else { throw EvaluationError.tooFewDocuments(sample: n, count: baseRelevant.count) }
                    let c = baseRelevant.count
                    let order = (0..<c).map { Double(c - $0) }
                    plan.base.append(rankingFigures(relevance: baseRelevant, scores: order, k: atK))
                }
                if alwaysRerankPositives {
                    docs = s.positive + documents.filter { !contains(s.positive, $0) }
                    relevant = [Int](repeating: 1, count: s.positive.count) + [Int](repeating: 0, count: docs.count - s.positive.count)
                } else {
                    docs = documents
                    relevant = documents.map { contains(s.positive, $0) ? 1 : 0 }
                }
            } else {
                let negative = s.negative ?? []
                docs = s.positive + negative
                relevant = [Int](repeating: 1, count: s.positive.count) + [Int](repeating: 0, count: negative.count)
                plan.base.append(nil)
            }
            if relevant.reduce(0, +) == 0 {
                plan.relevance.append(nil)
                continue
            }
            guard docs.count > 1 else { throw EvaluationError.tooFewDocuments(sample: n, count: docs.count) }
            plan.relevance.append(relevant)
            plan.pairs += docs.map { (s.query, $0) }
        }
        return plan
    }

    /// The second pass: per-sample MRR@k, NDCG@k and AP of the model's scores, averaged over all samples
    /// (samples without a relevant document count 0). Base figures are added when any sample gave `documents`.
    public static func reranking(plan: RerankingPlan, scores: [Float], name: String = "") throws -> EvaluationResult {
        try checkName(name)
        guard scores.count == plan.pairs.count else {
            throw EvaluationError.countMismatch(what: "reranking scores", expected: plan.pairs.count, got: scores.count)
        }
        try checkFinite(scores)
        var maps: [Double] = [], mrrs: [Double] = [], ndcgs: [Double] = []
        var offset = 0
        for relevant in plan.relevance {
            guard let relevant else {
                maps.append(0); mrrs.append(0); ndcgs.append(0)
                continue
            }
            let s = scores[offset..<(offset + relevant.count)].map(Double.init)
            offset += relevant.count
            let f = rankingFigures(relevance: relevant, scores: s, k: plan.atK)
            maps.append(f.map); mrrs.append(f.mrr); ndcgs.append(f.ndcg)
        }
        func mean(_ v: [Double]) -> Double { pairwiseSum(v) / Double(v.count) }
        let k = plan.atK
        var m: [(String, EvaluationFigure)] = [("map", .double(mean(maps))), ("mrr@\(k)", .double(mean(mrrs))),
                                               ("ndcg@\(k)", .double(mean(ndcgs)))]
        let row = m.map(\.1)
        let base = plan.base.compactMap { $0 }
        if !base.isEmpty {
            m += [("base_map", .double(mean(base.map(\.map)))), ("base_mrr@\(k)", .double(mean(base.map(\.mrr)))),
                  ("base_ndcg@\(k)", .double(mean(base.map(\.ndcg))))]
        }
        return EvaluationResult(evaluator: "CrossEncoderRerankingEvaluator", name: name,
                                metrics: m.map { .init(key: $0.0, figure: $0.1) }, primaryKey: "ndcg@\(k)",
                                csvFile: "CrossEncoderRerankingEvaluator" + (name.isEmpty ? "" : "_" + name) + "_results_@\(k).csv",
                                csvHeaders: ["epoch", "steps", "MAP", "MRR@\(k)", "NDCG@\(k)"], csvRow: row)
    }

    /// CrossEncoderRerankingEvaluator.compute_metrics: MRR@k, sklearn ndcg_score(k) and average_precision_score.
    public static func rankingFigures(relevance: [Int], scores: [Double], k: Int) -> (map: Double, mrr: Double, ndcg: Double) {
        (averagePrecision(labels: relevance, scores: scores), reciprocalRank(relevance: relevance, scores: scores, k: k),
         ndcg(relevance: relevance.map(Double.init), scores: scores, k: k))
    }

    /// 1 / rank of the first relevant document within the top k of np.argsort(scores)[::-1], else 0.
    /// Tied scores: numpy's default argsort does not define their order (this machine's SIMD sort differs from
    /// a stable one); this takes a stable ascending sort reversed, so among equal scores the later document
    /// ranks first, which is what numpy's insertion sort gives without the SIMD path.
    public static func reciprocalRank(relevance: [Int], scores: [Double], k: Int) -> Double {
        let ascending = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        for (rank, i) in ascending.reversed().prefix(k).enumerated() where relevance[i] != 0 { return 1 / Double(rank + 1) }
        return 0
    }

    /// sklearn.metrics.ndcg_score([relevance], [scores], k=k) with its default ignore_ties=False: discount
    /// 1/log2(position + 2) for positions < k, 0 beyond; a group of tied scores shares the mean gain of its
    /// members over the sum of the discounts of the positions it covers. Normalised by the DCG of the
    /// relevance itself sorted descending; 0 when that is 0.
    public static func ndcg(relevance: [Double], scores: [Double], k: Int) -> Double {
        let n = relevance.count
        var discountCumsum = [Double](repeating: 0, count: n)
        var acc = 0.0
        for i in 0..<n {
            if i < k { acc += 1 / (log(Double(i + 2)) / log(2.0)) }
            discountCumsum[i] = acc
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var dcg = 0.0, start = 0, previousCumsum = 0.0
        while start < n {
            var end = start
            while end + 1 < n && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let gain = (start...end).reduce(0.0) { $0 + relevance[order[$1]] } / Double(end - start + 1)
            dcg += gain * (discountCumsum[end] - previousCumsum)
            previousCumsum = discountCumsum[end]
            start = end + 1
        }
        var ideal = 0.0
        for (i, r) in relevance.sorted(by: >).enumerated() where i < k { ideal += r / (log(Double(i + 2)) / log(2.0)) }
        return ideal == 0 ? 0 : dcg / ideal
    }
}

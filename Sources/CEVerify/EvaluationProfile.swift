/// Named bounds on evaluator figures against the reference's (the evaluation counterpart of ToleranceProfile,
/// which bounds logits and scores). Never literals in tests.
///
/// Two kinds of figure react differently to score noise:
/// - continuous ones follow the score values: thresholds (a score, or the float32 midpoint of two) and
///   Pearson's r; bound |Δ| ≤ `continuous` · max(1, |reference|);
/// - ordinal ones depend on the scores only through their order: Spearman, accuracy, F1, precision, recall,
///   average precision, MRR, NDCG, MAP, macro/micro/weighted F1; bound |Δ| ≤ `ordinal`. They are step
///   functions: equal while the order is, then jumping by a swap's worth (1/n for accuracy on n pairs).
public struct EvaluationProfile: Sendable {
    public var name: String
    public var continuous: Double
    public var ordinal: Double
    /// The ordinal bound where differently labelled scores lie closer than the runtime's score error.
    public var ordinalNearTie: Double

    /// The reference's own scores through our metric code: only summation order differs (scipy's scaled
    /// Pearson, BLAS dot products, numpy's pairwise sums), so the figures agree to rounding; 1e-6 is the
    /// bound the metric code is held to.
    public static let sameScores = EvaluationProfile(name: "same-scores", continuous: 1e-6, ordinal: 1e-6, ordinalNearTie: 1e-6)

    /// cetool's fp32 runtime against the fp32 reference. Measured on golden/eval (EvaluatorGoldenTests):
    /// max |Δscore| 2.7e-6 (minilm-l6-ce) and 1.4e-6 (tiny models); continuous figures within 1.2e-6 (a
    /// threshold), ordinal figures within 2.2e-16.
    /// - continuous 1e-4: the fp32 score bound of ToleranceProfile.fp32. A threshold is a score or the
    ///   midpoint of two, so it moves with them; Pearson moves by at most 2·rms(Δs)/sd(s), 2e-5 here
    ///   (sd(s) 0.26 on minilm-l6-ce, 0.032 on tiny-bert-l1).
    /// - ordinal 1e-9 (rounding only) where no two differently labelled reference scores lie within
    ///   2·max|Δscore| of each other: then no pair the figure depends on can change order.
    /// - ordinalNearTie 0.05 where such near ties exist (the tests find them on tiny-bert-l1's correlation and
    ///   binary sets, 6e-8 apart, and minilm-l6-ce's reranking set, 3.2e-6 apart): one flip of a near tie moves
    ///   a figure by one step, the largest here an MRR of 1 → 1/2 on one of 10 queries (0.05); accuracy steps
    ///   by 1/200, F1 and AP by about 1/84 (positives). Measured on those sets: no flip, figures identical.
    public static let fp32 = EvaluationProfile(name: "eval-fp32", continuous: 1e-4, ordinal: 1e-9, ordinalNearTie: 0.05)

    /// Pearson and thresholds (keys as the evaluator returns them, prefixed or not).
    public func isContinuous(_ key: String) -> Bool {
        key == "pearson" || key.hasSuffix("_pearson") || key.hasSuffix("threshold")
    }

    public func bound(_ key: String, reference: Double, nearTies: Bool = false) -> Double {
        isContinuous(key) ? continuous * max(1, abs(reference)) : (nearTies ? ordinalNearTie : ordinal)
    }

    /// Every difference from the reference's returned figures that the profile does not allow: a missing,
    /// extra or reordered key, or a value outside its bound (NaN never passes). `nearTies`: whether two
    /// differently labelled reference scores lie within the runtime's score error of each other (unknown
    /// counts as true), which lets an ordinal figure take one step.
    public func violations(_ ours: [(key: String, value: Double)], reference: [(key: String, value: Double)],
                           nearTies: Bool) -> [String] {
        var out: [String] = []
        if ours.map(\.key) != reference.map(\.key) {
            out.append("keys \(ours.map(\.key)) vs reference \(reference.map(\.key))")
        }
        for (k, r) in reference {
            guard let v = ours.first(where: { $0.key == k })?.value else { continue }
            let d = abs(v - r), b = bound(k, reference: r, nearTies: nearTies)
            if !(d <= b) { out.append("\(k): \(v) vs reference \(r) (|Δ| \(d) > \(b), \(name))") }
        }
        return out
    }

    public func violations(_ result: EvaluationResult, reference: [(key: String, value: Double)], nearTies: Bool) -> [String] {
        violations(result.returnedMetrics, reference: reference, nearTies: nearTies)
    }
}

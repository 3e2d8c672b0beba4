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

    /// cetool's fp32 runtime against the fp32 reference (scores within ToleranceProfile.fp32, measured
    /// max |Δscore| 2.1e-6 on the eval sets).
    /// - continuous 1e-4: the fp32 score bound itself. A threshold is a score or a midpoint of two, so it
    ///   moves with them; Pearson moves by at most 2·rms(Δs)/sd(s), below 1e-4 for every set here
    ///   (sd(s) ≥ 0.03 on the real-size model, rms(Δs) ≤ 1e-6).
    /// - ordinal 1e-9: rounding only. A step would need two scores of different labels closer than the
    ///   runtime's score error; the eval tests report any such near tie, and none exists in these sets, so
    ///   ordinal figures must come out the same as the reference's.
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

/// Agreement between two score lists over the same documents.
public enum RankMetrics {
    /// Ranks 1...n by ascending value, ties sharing their average rank (scipy.stats.rankdata "average").
    public static func averageRanks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, v[order[j + 1]] == v[order[i]] { j += 1 }
            for t in i...j { r[order[t]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return r
    }

    /// Pearson correlation; nil when either side is constant or the lists are shorter than 2.
    public static func pearson(_ a: [Double], _ b: [Double]) -> Double? {
        guard a.count == b.count, a.count >= 2 else { return nil }
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var num = 0.0, da = 0.0, db = 0.0
        for (x, y) in zip(a, b) { num += (x - ma) * (y - mb); da += (x - ma) * (x - ma); db += (y - mb) * (y - mb) }
        guard da > 0, db > 0 else { return nil }
        return num / (da * db).squareRoot()
    }

    /// Spearman's rho: Pearson of average ranks (scipy.stats.spearmanr).
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double? { pearson(averageRanks(a), averageRanks(b)) }

    /// Kendall's tau-b (scipy.stats.kendalltau default): (concordant − discordant) / sqrt((n0 − t_a)(n0 − t_b)).
    public static func kendallTauB(_ a: [Double], _ b: [Double]) -> Double? {
        guard a.count == b.count, a.count >= 2 else { return nil }
        var concordant = 0.0, discordant = 0.0, tiesA = 0.0, tiesB = 0.0
        for i in 0..<a.count {
            for j in (i + 1)..<a.count {
                let da = a[i] - a[j], db = b[i] - b[j]
                if da == 0 && db == 0 { tiesA += 1; tiesB += 1 } else if da == 0 { tiesA += 1 } else if db == 0 { tiesB += 1 } else if (da > 0) == (db > 0) {
                    concordant += 1
                } else { discordant += 1 }
            }
        }
        let n0 = Double(a.count * (a.count - 1) / 2)
        let denom = ((n0 - tiesA) * (n0 - tiesB)).squareRoot()
        guard denom > 0 else { return nil }
        return (concordant - discordant) / denom
    }

    /// The pairs `candidate` orders the other way round from `reference` (a tie on either side is not a swap), and
    /// the widest reference gap among them: how far apart, in the reference's own scores, the documents that
    /// changed places were. 0 when nothing swapped.
    public static func swaps(reference: [Double], candidate: [Double]) -> (count: Int, widestReferenceGap: Double) {
        guard reference.count == candidate.count else { return (0, 0) }
        var count = 0, widest = 0.0
        for i in 0..<reference.count {
            for j in (i + 1)..<reference.count {
                let dr = reference[i] - reference[j], dc = candidate[i] - candidate[j]
                if dr != 0 && dc != 0 && (dr > 0) != (dc > 0) { count += 1; widest = max(widest, abs(dr)) }
            }
        }
        return (count, widest)
    }

    /// Every document pair the candidate does not order as the reference does: ordered the other way round, or
    /// tied on one side only. Pairs tied on both sides agree. When this is empty both rankings are the same and
    /// Spearman and Kendall are 1; it is what the near-tie rule of the ranking check (ToleranceProfile.nearTieBound)
    /// inspects.
    public static func disagreements(reference: [Double], candidate: [Double]) -> [(Int, Int)] {
        guard reference.count == candidate.count else { return [] }
        var out: [(Int, Int)] = []
        for i in 0..<reference.count {
            for j in (i + 1)..<reference.count {
                let dr = reference[i] - reference[j], dc = candidate[i] - candidate[j]
                // A non-finite candidate score orders nothing: always a disagreement.
                if dc.isFinite {
                    if dr == 0 && dc == 0 { continue }
                    if dr != 0 && dc != 0 && (dr > 0) == (dc > 0) { continue }
                }
                out.append((i, j))
            }
        }
        return out
    }

    /// Indices best first; ties keep input order (Python's stable sort, as CrossEncoder.rank).
    public static func order(_ scores: [Double]) -> [Int] {
        scores.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }
    }

    /// Share of the reference's top k found in the candidate's top k (k capped at n).
    public static func topKOverlap(reference: [Double], candidate: [Double], k: Int) -> Double {
        let k = min(k, reference.count)
        guard k > 0 else { return 1 }
        let r = Set(order(reference).prefix(k)), c = Set(order(candidate).prefix(k))
        return Double(r.intersection(c).count) / Double(k)
    }

    /// NDCG@k of the candidate's ranking, with graded relevance taken from the reference ranking: the
    /// reference's i-th document (0-based) has gain k − i for i < k and 0 beyond, so the reference's own
    /// order scores 1. DCG uses log2(position + 2) discounts (1-based position + 1), as sklearn's ndcg_score.
    public static func ndcg(reference: [Double], candidate: [Double], k: Int = 10) -> Double {
        let k = min(k, reference.count)
        guard k > 0 else { return 1 }
        var gain = [Double](repeating: 0, count: reference.count)
        for (i, d) in order(reference).prefix(k).enumerated() { gain[d] = Double(k - i) }
        func dcg(_ ranking: [Int]) -> Double {
            ranking.prefix(k).enumerated().reduce(0) { $0 + gain[$1.element] / log2(Double($1.offset + 2)) }
        }
        let ideal = dcg(order(reference))
        return ideal > 0 ? dcg(order(candidate)) / ideal : 1
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

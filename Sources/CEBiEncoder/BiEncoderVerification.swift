import CECore
import CERetrieve
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// `cetool verify` for bi-encoders: a converted SentenceTransformer's embeddings against a reference (the original
/// model run by cetool's fp32 runtime, or a golden of sentence-transformers' encode), judged by the cosine of each
/// embedding to the reference's and by retrieval agreement (recall@k of each text's nearest neighbours).
public enum BiEncoderVerification {
    /// Bounds per precision: least cosine of any embedding to the reference's, least recall@k.
    public struct Profile: Sendable, Equatable {
        public var name: String
        public var minCosine: Float
        public var minRecall: Double

        public static let fp32 = Profile(name: "fp32", minCosine: 0.99999, minRecall: 1.0)
        public static let fp16 = Profile(name: "fp16", minCosine: 0.9999, minRecall: 0.99)
        public static let bf16 = Profile(name: "bf16", minCosine: 0.999, minRecall: 0.99)
        /// Issue 27: recall@10 against fp32 retrieval at least 0.99.
        public static let int8 = Profile(name: "int8", minCosine: 0.999, minRecall: 0.99)

        public static func named(_ n: String) -> Profile? { [fp32, fp16, bf16, int8].first { $0.name == n } }
    }

    public struct Report: Sendable {
        public var texts: Int
        public var k: Int
        public var minCosine: Float
        public var meanCosine: Float
        /// The text whose embedding is least like the reference's.
        public var worstText: Int
        public var recall: Double
        public var profile: Profile
        public var cosinePassed: Bool { minCosine >= profile.minCosine }
        public var recallPassed: Bool { recall >= profile.minRecall }
        public var passed: Bool { cosinePassed && recallPassed }
    }

    /// Each text is a query against all the others, on both sides; recall = the reference's neighbours found / all of
    /// them (one ratio of counts). Cosines use L2-normalized rows (embeddings of a model without Normalize too).
    public static func compare(_ candidate: Embeddings, reference: Embeddings, k: Int = 10, profile: Profile) throws -> Report {
        guard candidate.count == reference.count, candidate.dimension == reference.dimension else {
            throw RetrieveError.shapeMismatch(what: "embeddings against the reference", expected: "\(reference.count) x \(reference.dimension)",
                                              got: candidate.values.count)
        }
        guard reference.count >= 2 else { throw RetrieveError.invalidArgument(name: "texts (at least 2 to compare retrieval)", value: reference.count) }
        let a = Pool.normalize(candidate.values, dimension: candidate.dimension), b = Pool.normalize(reference.values, dimension: reference.dimension)
        let d = candidate.dimension
        let cos = (0..<candidate.count).map { i in (0..<d).reduce(Float(0)) { $0 + a[i * d + $1] * b[i * d + $1] } }
        let kk = min(k, reference.count - 1)
        let ca = try Embeddings(count: candidate.count, dimension: d, values: a), rb = try Embeddings(count: reference.count, dimension: d, values: b)
        let got = try SemanticSearch.search(queries: ca, corpus: ca, topK: kk + 1), want = try SemanticSearch.search(queries: rb, corpus: rb, topK: kk + 1)
        var found = 0, total = 0
        for (i, (g, w)) in zip(got, want).enumerated() {
            let wi = w.map(\.corpusID).filter { $0 != i }.prefix(kk), gi = Set(g.map(\.corpusID).filter { $0 != i }.prefix(kk))
            found += wi.filter { gi.contains($0) }.count
            total += wi.count
        }
        let worst = cos.indices.min { cos[$0] < cos[$1] }!
        return Report(texts: candidate.count, k: kk, minCosine: cos[worst], meanCosine: cos.reduce(0, +) / Float(cos.count), worstText: worst,
                      recall: Double(found) / Double(max(total, 1)), profile: profile)
    }
}

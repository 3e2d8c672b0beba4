import CECore
import CETestSupport
import XCTest
@testable import CERetrieve

final class PoolingTests: XCTestCase {
    /// hidden [2, 3, 2]: row 0 all tokens, row 1 the last token padded.
    let hidden: [Float] = [1, 2, 3, -4, 5, 0, /* row 1 */ 2, 2, 4, -2, 100, 100]
    let mask: [Int32] = [1, 1, 1, 1, 1, 0]

    func pooled(_ mode: PoolingMode, includePrompt: Bool = true, prompt: Int? = nil) throws -> [Float] {
        try Pool.pool(hidden: hidden, mask: mask, batch: 2, tokens: 3, channels: 2,
                      config: PoolingConfig(embeddingDimension: 2, modes: [mode], includePrompt: includePrompt), promptLength: prompt)
    }

    func testHandComputed() throws {
        XCTAssertEqual(try pooled(.cls), [1, 2, 2, 2])
        XCTAssertEqual(try pooled(.lasttoken), [5, 0, 4, -2])
        XCTAssertEqual(try pooled(.max), [5, 2, 4, 2])
        XCTAssertEqual(try pooled(.mean), [3, -2.0 / 3, 3, 0])
        let s3 = Float(3).squareRoot(), s2 = Float(2).squareRoot()
        let ms = try pooled(.meanSqrtLenTokens)
        for (a, b) in zip(ms, [9 / s3, -2 / s3, 6 / s2, 0]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // weights 1, 2, 3: (1·1 + 2·3 + 3·5) / 6; row 1: (1·2 + 2·4) / 3
        let wm = try pooled(.weightedmean)
        for (a, b) in zip(wm, [22.0 / 6, (2 - 8 + 0) / 6.0, 10.0 / 3, (2 - 4) / 3.0] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // include_prompt false, prompt of 1 token: right-padded batch loses position 0 in every row
        XCTAssertEqual(try pooled(.mean, includePrompt: false, prompt: 1), [4, -2, 4, -2])
        XCTAssertEqual(try pooled(.cls, includePrompt: false, prompt: 1), [3, -4, 4, -2])
        XCTAssertEqual(try pooled(.mean, includePrompt: true, prompt: 1), try pooled(.mean))
        let both = try Pool.pool(hidden: hidden, mask: mask, batch: 2, tokens: 3, channels: 2,
                                 config: PoolingConfig(embeddingDimension: 2, modes: [.cls, .max]))
        XCTAssertEqual(both, [1, 2, 5, 2, 2, 2, 4, 2])
        XCTAssertThrowsError(try Pool.pool(hidden: [1], mask: [1], batch: 1, tokens: 1, channels: 2,
                                           config: PoolingConfig(embeddingDimension: 2, modes: [.mean])))
        XCTAssertEqual(Pool.normalize([3, 4, 0, 0], dimension: 2), [0.6, 0.8, 0, 0])
        let dense = try DenseLayer(inFeatures: 2, outFeatures: 1, weight: [1, -1], bias: [0.5], activation: .relu)
        XCTAssertEqual(try dense.forward([3, 1, 1, 3], batch: 2), [2.5, 0])
    }

    /// The reference's token embeddings in, the reference's sentence embeddings out, for every tiny model.
    func testMatchesSentenceTransformersGivenItsTokenEmbeddings() throws {
        var worst: Float = 0
        for name in ["cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken", "dense"] {
            let dir = repositoryRoot().appendingPathComponent("golden/models/tiny-bi-\(name)").path
            let model = try SentenceTransformerFolder.load(path: dir)
            let g = try BiGolden.load("tiny-bi-\(name)/golden.json")
            for b in g["batches"]!.arrayValue! {
                let s = BiGolden.shape(b["token_embeddings"]!)
                let mask = b["attention_mask"]!.arrayValue!.flatMap { $0.arrayValue!.map { Int32($0.intValue!) } }
                let got = try model.embed(tokenEmbeddings: BiGolden.floats(b["token_embeddings"]!), mask: mask, batch: s[0], tokens: s[1],
                                          promptLength: b["prompt_length"]?.intValue)
                let want = BiGolden.floats(b["sentence_embedding"]!)
                XCTAssertEqual(got.count, want.count, name)
                let dev = maxAbsDiff(got, want)
                XCTAssertLessThanOrEqual(dev, EmbeddingProfile.pooling.embeddingAbs, "\(name) prompt \(b["prompt_name"]!)")
                worst = max(worst, dev)
            }
        }
        print("pooling+dense+normalize vs sentence-transformers: max |diff| = \(worst)")
    }
}

/// Named tolerances for bi-encoder outputs against the reference (issue 27's acceptance figures).
public struct EmbeddingProfile: Sendable {
    /// Largest |ours - reference| of an embedding component.
    public var embeddingAbs: Float
    /// Largest |ours - reference| of a search score (hits themselves must be identical).
    public var searchScoreAbs: Float
    /// Reference scores closer than this are a tie its own float32 rounding broke (a duplicated row scored in
    /// another chunk layout differs by an ulp); such runs are compared as sets.
    public var nearTieAbs: Float = 1e-6

    /// fp32 against sentence-transformers: embeddings within 1e-4, semantic_search scores within 1e-5.
    public static let fp32 = EmbeddingProfile(embeddingAbs: 1e-4, searchScoreAbs: 1e-5)
    /// Pooling / Dense / Normalize given the reference's own token embeddings: only float32 summation order differs.
    public static let pooling = EmbeddingProfile(embeddingAbs: 1e-5, searchScoreAbs: 1e-5)
}

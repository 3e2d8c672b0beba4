/// Errors of bi-encoder search, quantization and pooling inputs.
public enum RetrieveError: Error, Equatable, CustomStringConvertible {
    /// A buffer's element count does not match its declared shape.
    case shapeMismatch(what: String, expected: String, got: Int)
    /// Queries and corpus rows of different widths.
    case dimensionMismatch(queries: Int, corpus: Int)
    /// An argument outside its domain (top_k < 0, chunk sizes < 1, ...).
    case invalidArgument(name: String, value: Int)
    /// int8/uint8 ranges asked of fewer than two embeddings without explicit ranges (the reference raises too).
    case rangesFromSingleEmbedding
    /// A NaN where a quantizer needs a number.
    case notFinite(row: Int, column: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let w, let e, let g): return "\(w): expected \(e) values, got \(g)"
        case .dimensionMismatch(let q, let c): return "query embeddings have \(q) dimensions, corpus embeddings \(c)"
        case .invalidArgument(let n, let v): return "\(n) out of range: \(v)"
        case .rangesFromSingleEmbedding:
            return "cannot compute int8/uint8 quantization ranges from a single embedding: give ranges or calibration embeddings"
        case .notFinite(let r, let c): return "embedding \(r), dimension \(c) is NaN"
        }
    }
}

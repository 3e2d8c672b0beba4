import CECore
import CERetrieve
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// What an index needs of its model, read from the SentenceTransformer folder's configs without loading weights:
/// `cetool index build --embeddings` and `cetool search IDX --query-embeddings` use it, where nothing is embedded.
public struct IndexModel: Sendable, Equatable {
    /// ModelIdentity.sha256 of the folder.
    public let identity: String
    /// The sentence embedding's width after every module.
    public let dimension: Int
    /// The pipeline ends in Normalize.
    public let normalizes: Bool
    public let scoreFunction: ScoreFunction

    /// Reads `path`'s modules.json and module configs and hashes its identity files.
    public init(folder path: String) throws {
        let folder = try SentenceTransformerFolder.load(path: path)
        identity = try ModelIdentity.sha256(folder: URL(fileURLWithPath: path), modules: folder)
        dimension = folder.outputDimension
        normalizes = folder.modules.last == .normalize
        scoreFunction = try Retrieval.scoreFunction(named: folder.similarityFunction)
    }

    /// The same facts of a loaded model.
    public init(_ model: SentenceTransformer) throws {
        identity = try model.identity()
        dimension = model.dimension
        normalizes = model.normalizes
        scoreFunction = try Retrieval.scoreFunction(of: model)
    }
}

extension Retrieval {
    /// similarity_fn_name as semantic_search's score function: cosine → cos, dot → dot; others refused.
    public static func scoreFunction(named name: String) throws -> ScoreFunction {
        switch name {
        case "cosine": return .cos
        case "dot": return .dot
        default: throw RetrievalError.unsupportedSimilarity(name)
        }
    }

    /// An index file's bytes (formats/index.md) for rows embedded elsewhere by `model` (checked: its width, finite
    /// values, unit norm when the model normalizes).
    public static func buildIndex(embeddingsFile path: String, model: IndexModel, corpusIDs: [String]? = nil, precision: IndexPrecision,
                                  rescoreMultiplier: Int = EmbeddingIndexLayout.defaultRescoreMultiplier) throws -> [UInt8] {
        let e = try EmbeddingsFile.load(path: path, dimension: model.dimension, normalized: model.normalizes)
        if let ids = corpusIDs, ids.count != e.count { throw RetrievalError.corpusTextsCount(index: e.count, texts: ids.count) }
        return try EmbeddingIndexWriter.encode(e, precision: precision, normalized: model.normalizes, scoreFunction: model.scoreFunction,
                                               corpusIDs: corpusIDs, rescoreMultiplier: rescoreMultiplier, modelSHA256: model.identity)
    }

    /// Opens an index and checks it belongs to `model` (identity and width).
    public static func openIndex(_ path: String, for model: IndexModel) throws -> EmbeddingIndex {
        let index = try EmbeddingIndex(path: path)
        guard index.header.modelSHA256 == model.identity else {
            throw RetrievalError.indexFromAnotherModel(index: index.header.modelSHA256, model: model.identity)
        }
        guard index.header.dimension == model.dimension else {
            throw RetrievalError.dimensionMismatch(index: index.header.dimension, model: model.dimension)
        }
        return index
    }
}

import CECore

/// Errors of CETokenizers. Every case names the file, field or token at fault.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// None of tokenizer.json, vocab.txt, vocab.json and sentencepiece.bpe.model was found in the directory.
    case missingTokenizerFiles(directory: String)
    /// The folder has tokenizer files, but not the one its tokenizer class is built from (`name`), with why.
    case missingFile(name: String, reason: String)
    case unreadableFile(path: String, reason: String)
    /// The bytes are not JSON, or the top level is not an object.
    case invalidJSON(file: String, reason: String)
    /// A field is missing or has the wrong type / value. `field` is a dotted path, e.g. "model.vocab".
    case invalidField(file: String, field: String, reason: String)
    /// A pipeline stage or model type we do not implement, e.g. (kind: "normalizer", type: "Precompiled").
    case unsupportedComponent(kind: String, type: String)
    /// A transformers tokenizer class whose Python `__init__` rebuilds the pipeline in a way we do not mirror.
    case unsupportedTokenizerClass(name: String)
    /// WordPiece needs its unk token in the model vocabulary (checked at load); BPE needs it when it meets an
    /// unknown scalar (checked at encode, as tokenizers does).
    case missingUnknownToken(token: String)
    /// A BPE merge names a token, or produces one, that is not in the vocabulary (`merge` is its index).
    case mergeTokenNotInVocabulary(token: String, merge: Int)
    /// A Unigram model without `unk_id` met a scalar it cannot cover (tokenizers `MissingUnkId`).
    case unigramWithoutUnkID
    /// A post-processor template names a special token that has no id.
    case missingSpecialToken(token: String)
    /// A token id does not fit the Int32 id space.
    case idOutOfRange(token: String, id: Int64)
    /// `maxLength` is smaller than the number of special tokens the post-processor adds.
    case maxLengthTooSmall(maxLength: Int, specialTokens: Int)
    /// Padding a batch of unequal lengths needs a pad token, and none is configured.
    case missingPadToken
    /// An added token longer than `AddedVocabulary.maxTokenBytes` (`token`: its first scalars, escaped).
    case addedTokenTooLong(token: String, bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .missingTokenizerFiles(let directory):
            return "no tokenizer.json, vocab.txt, vocab.json + merges.txt, sentencepiece.bpe.model or spm.model in \(directory)"
        case .missingFile(let name, let reason):
            return "\(name) is missing: \(reason)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidJSON(let file, let reason):
            return "\(file): invalid JSON: \(reason)"
        case .invalidField(let file, let field, let reason):
            return "\(file): field \"\(field)\": \(reason)"
        case .unsupportedComponent(let kind, let type):
            return "unsupported \(kind) type \"\(type)\""
        case .unsupportedTokenizerClass(let name):
            return "unsupported tokenizer class \"\(name)\""
        case .missingUnknownToken(let token):
            return "unk token \"\(token)\" is not in the model vocabulary"
        case .mergeTokenNotInVocabulary(let token, let merge):
            return "BPE merge \(merge): token \"\(token)\" is not in the vocabulary"
        case .unigramWithoutUnkID:
            return "the Unigram model has no unk_id and the text has a scalar outside its vocabulary"
        case .missingSpecialToken(let token):
            return "special token \"\(token)\" used by the post-processor has no id"
        case .idOutOfRange(let token, let id):
            return "token \"\(token)\" has id \(id), outside 0..<2^31"
        case .maxLengthTooSmall(let maxLength, let specialTokens):
            return "max_length \(maxLength) is smaller than the \(specialTokens) special tokens the template adds"
        case .missingPadToken:
            return "padding requested but the tokenizer has no pad token"
        case .addedTokenTooLong(let token, let bytes, let limit):
            return "added token \"\(displayEscaped(token))…\" is \(bytes) bytes, above the limit of \(limit)"
        }
    }
}

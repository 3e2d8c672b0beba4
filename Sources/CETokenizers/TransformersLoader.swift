import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The files of a HF tokenizer folder. Any may be absent; tokenizer.json, vocab.txt, vocab.json (with merges.txt,
/// for the RoBERTa family) or sentencepiece.bpe.model (for the XLM-R family) is required.
public struct TokenizerFiles: Sendable {
    public var tokenizerJSON: Data?
    public var vocabTXT: Data?
    /// A byte-level BPE's vocabulary and merges as separate files (RobertaTokenizer reads them when there is no
    /// tokenizer.json).
    public var vocabJSON: Data?
    public var mergesTXT: Data?
    /// XLM-R's SentencePiece model (sentencepiece.bpe.model), which XLMRobertaTokenizer reads when there is no
    /// tokenizer.json.
    public var sentencePieceModel: Data?
    public var tokenizerConfigJSON: Data?
    public var specialTokensMapJSON: Data?
    /// Legacy added_tokens.json (`{"token": id}`).
    public var addedTokensJSON: Data?
    /// The model's config.json; only `model_type` is read, to pick the transformers tokenizer class
    /// when tokenizer_config.json names none.
    public var modelConfigJSON: Data?

    public init(tokenizerJSON: Data? = nil, vocabTXT: Data? = nil, tokenizerConfigJSON: Data? = nil,
                specialTokensMapJSON: Data? = nil, addedTokensJSON: Data? = nil, modelConfigJSON: Data? = nil,
                vocabJSON: Data? = nil, mergesTXT: Data? = nil, sentencePieceModel: Data? = nil) {
        self.tokenizerJSON = tokenizerJSON
        self.sentencePieceModel = sentencePieceModel
        self.vocabTXT = vocabTXT
        self.vocabJSON = vocabJSON
        self.mergesTXT = mergesTXT
        self.tokenizerConfigJSON = tokenizerConfigJSON
        self.specialTokensMapJSON = specialTokensMapJSON
        self.addedTokensJSON = addedTokensJSON
        self.modelConfigJSON = modelConfigJSON
    }

    /// Cap on any single tokenizer file (rule 1).
    static let maxFileBytes = 512 << 20

    /// Reads the files present in `directory`.
    public static func load(directory: URL) throws -> TokenizerFiles {
        func read(_ name: String) throws -> Data? {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory),
                  !isDirectory.boolValue else { return nil }
            // Type and size are checked before reading: a FIFO, a device (/dev/zero) or a huge file is refused
            // without a read.
            var st = stat()
            guard stat(url.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw TokenizerError.unreadableFile(path: url.path, reason: "not a regular file")
            }
            guard st.st_size <= maxFileBytes else {
                throw TokenizerError.unreadableFile(path: url.path, reason: "\(st.st_size) bytes, larger than \(maxFileBytes)")
            }
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw TokenizerError.unreadableFile(path: url.path, reason: systemReason(error))
            }
            guard data.count <= maxFileBytes else {
                throw TokenizerError.unreadableFile(path: url.path, reason: "larger than \(maxFileBytes) bytes")
            }
            return data
        }
        let files = TokenizerFiles(
            tokenizerJSON: try read("tokenizer.json"), vocabTXT: try read("vocab.txt"),
            tokenizerConfigJSON: try read("tokenizer_config.json"),
            specialTokensMapJSON: try read("special_tokens_map.json"),
            addedTokensJSON: try read("added_tokens.json"), modelConfigJSON: try read("config.json"),
            vocabJSON: try read("vocab.json"), mergesTXT: try read("merges.txt"),
            sentencePieceModel: try read(SentencePieceModel.file) ?? read(SentencePieceModel.debertaV2File))
        guard files.hasModelFile else {
            throw TokenizerError.missingTokenizerFiles(directory: directory.path)
        }
        return files
    }

    /// Whether any file a tokenizer model can be built from is present.
    var hasModelFile: Bool { tokenizerJSON != nil || vocabTXT != nil || vocabJSON != nil || sentencePieceModel != nil }
}

/// How transformers 5 `AutoTokenizer.from_pretrained` builds the backend for a folder.
enum TokenizerFlavor: Equatable {
    /// `BertTokenizer` and its aliases/subclasses: the Python `__init__` rebuilds normalizer,
    /// pre-tokenizer and model from tokenizer_config.json; tokenizer.json contributes only its vocab.
    case bertRebuild
    /// `RobertaTokenizer` (and model types mapped to it): `__init__` keeps tokenizer.json's `model.vocab` and
    /// `model.merges` only and builds BPE (no unk token, no prefix/suffix, no dropout), ByteLevel
    /// (`add_prefix_space` from tokenizer_config.json, default false), no normalizer, RobertaProcessing.
    case robertaRebuild
    /// `XLMRobertaTokenizer` (and model types mapped to it): `__init__` keeps tokenizer.json's `model.vocab` and
    /// the first Precompiled charsmap of its normalizer only (without tokenizer.json: sentencepiece.bpe.model's pieces
    /// behind `<s> <pad> </s> <unk>`, then `<mask>`, and its charsmap) and builds Unigram(unk_id 3, no byte fallback),
    /// Precompiled (or no normalizer), WhitespaceSplit + Metaspace("▁", always / never from `add_prefix_space`,
    /// default true), and `<s> $A </s>` / `<s> $A </s> </s> $B </s>`.
    case xlmRobertaRebuild
    /// `CamembertTokenizer` (model type camembert): the XLM-R rebuild with CamemBERT's differences: Unigram's unk id is
    /// the first vocabulary entry equal to the unk token (0 if none); a plain-string `mask_token` becomes
    /// AddedToken(lstrip=True, special=True); no `additional_special_tokens` means `<s>NOTUSED </s>NOTUSED <unk>NOTUSED`;
    /// from sentencepiece.bpe.model the vocabulary is `<s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED(-100)`, the
    /// pieces from the second on, then `<mask>` (CamembertConverter.convert_from_spm).
    case camembertRebuild
    /// `DebertaV2Tokenizer` (model type deberta-v2): Unigram over tokenizer.json's vocabulary or spm.model's pieces, the
    /// pipeline rebuilt by `__init__` (DebertaV2Tokenizer.swift).
    case debertaV2Rebuild
    /// `Qwen2Tokenizer` (model types qwen2, qwen3): `__init__` keeps tokenizer.json's `model.vocab` and `model.merges`
    /// and builds BPE (no unk token, prefix, suffix or dropout), NFC, Split(Qwen2's pattern, Isolated) + ByteLevel
    /// (`add_prefix_space` from tokenizer_config.json, default false; no regex); tokenizer.json's post-processor and
    /// added tokens are kept as the backend keeps them. Defaults unk, eos and pad `<|endoftext|>`, no bos.
    case qwen2Rebuild
    /// `TokenizersBackend` (`PreTrainedTokenizerFast`, unknown class names): tokenizer.json as is.
    case backend
}

/// The transformers 5 layer: class resolution, tokenizer_config.json / special_tokens_map.json
/// handling and added/special token registration, on top of the tokenizers stages.
enum TransformersLoader {
    static let configFile = "tokenizer_config.json"

    /// transformers tokenizer classes (without "Fast") that resolve to BertTokenizer or a subclass
    /// that does not change the pipeline.
    static let bertClasses: Set<String> = [
        "BertTokenizer", "DistilBertTokenizer", "ElectraTokenizer", "ConvBertTokenizer", "LayoutLMTokenizer",
        "LxmertTokenizer", "MobileBertTokenizer", "SqueezeBertTokenizer", "DPRQuestionEncoderTokenizer",
        "DPRContextEncoderTokenizer",
    ]
    /// Classes whose transformers 5 `__init__` rebuilds the pipeline in a way we do not mirror: the
    /// WordPiece-family ones, and every other `TokenizersBackend` subclass with its own `__init__` (BPE and
    /// Unigram families; listed from transformers 5.23's `TOKENIZER_MAPPING_NAMES`).
    static let refusedClasses: Set<String> = [
        "MPNetTokenizer", "FunnelTokenizer", "LayoutLMv2Tokenizer", "LayoutLMv3Tokenizer", "SplinterTokenizer",
        "RoFormerTokenizer", "BertJapaneseTokenizer", "RoCBertTokenizer", "TapasTokenizer", "ProphetNetTokenizer",
        "DPRReaderTokenizer", "HerbertTokenizer", "BertGenerationTokenizer", "MarkupLMTokenizer",
        "AlbertTokenizer", "BartTokenizer", "BarthezTokenizer", "BigBirdTokenizer", "BlenderbotTokenizer", "CLIPTokenizer",
        "CodeLlamaTokenizer", "CohereTokenizer", "DebertaTokenizer",
        "EsmcTokenizer", "GPT2Tokenizer", "GPTNeoXTokenizer", "GemmaTokenizer", "LEDTokenizer", "LasrTokenizer",
        "LayoutXLMTokenizer", "LlamaTokenizer", "LukeTokenizer", "MBart50Tokenizer", "MBartTokenizer", "MLukeTokenizer",
        "MvpTokenizer", "NllbTokenizer", "NougatTokenizer", "OpenAIGPTTokenizer", "PegasusTokenizer",
        "Qwen3_5Tokenizer", "ReformerTokenizer", "RemBertTokenizer", "SeamlessM4TTokenizer", "Siglip2Tokenizer",
        "T5Tokenizer", "Tipsv2Tokenizer", "UdopTokenizer", "VideoPrismTokenizer", "WhisperTokenizer", "XGLMTokenizer",
        "XLNetTokenizer",
    ]
    /// config.json `model_type`s whose transformers 5.23 tokenizer is RobertaTokenizer / XLMRobertaTokenizer.
    static let robertaModelTypes: Set<String> = [
        "bart", "bridgetower", "clap", "data2vec-text", "ibert", "lilt", "longformer", "mega", "mra", "roberta",
        "roberta-prelayernorm",
    ]
    static let xlmRobertaModelTypes: Set<String> = ["gte", "jina_embeddings_v3", "metaclip_2", "trocr", "xlm-roberta", "xmod"]
    /// config.json `model_type`s transformers 5.23 lists as having wrong hub tokenizer classes
    /// (MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS) and registers to TokenizersBackend: whatever
    /// tokenizer_config.json names, AutoTokenizer loads tokenizer.json as is. The ones cetool runs.
    static let backendModelTypes: Set<String> = ["modernbert"]
    /// config.json `model_type`s whose transformers tokenizer is BertTokenizer (used when
    /// tokenizer_config.json has no tokenizer_class).
    static let bertModelTypes: Set<String> = [
        "align", "bark", "bert", "blip", "bros", "chinese_clip", "convbert", "distilbert", "electra", "ernie",
        "flava", "git", "grounding-dino", "layoutlm", "lxmert", "megatron-bert", "mm-grounding-dino", "mobilebert",
        "nezha", "nomic_bert", "qdqbert", "realm", "retribert", "squeezebert", "tvp", "vilt", "visual_bert",
    ]
    static let refusedModelTypes: Set<String> = [
        "mpnet", "funnel", "roformer", "splinter", "layoutlmv2", "layoutlmv3", "dpr", "tapas", "prophetnet",
        "roc_bert", "markuplm",
        "albert", "barthez", "big_bird", "blenderbot", "clip", "code_llama", "codegen", "cohere", "deberta",
        "gemma", "gpt2", "gpt_neo", "gpt_neox", "gptj", "herbert", "layoutxlm", "led", "llama", "luke",
        "mbart", "mbart50", "mluke", "mt5", "mvp", "nllb", "opt", "pegasus", "phi", "reformer", "rembert",
        "t5", "whisper", "xglm", "xlnet",
    ]
    /// transformers `SPECIAL_TOKENS_ATTRIBUTES`, in order.
    static let namedTokenKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
    /// BertTokenizer.__init__ defaults.
    static let bertDefaults: [String: String] = [
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    ]
    /// RobertaTokenizer.__init__ / XLMRobertaTokenizer.__init__ defaults (the same seven).
    static let robertaDefaults: [String: String] = [
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>",
        "cls_token": "<s>", "mask_token": "<mask>",
    ]

    static func classDefaults(_ flavor: TokenizerFlavor) -> [String: String] {
        switch flavor {
        case .bertRebuild: return bertDefaults
        case .robertaRebuild, .xlmRobertaRebuild, .camembertRebuild: return robertaDefaults
        case .debertaV2Rebuild: return debertaV2Defaults
        case .qwen2Rebuild: return ["unk_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"]
        case .backend: return [:]
        }
    }

    static func flavor(className: String?, modelType: String?) throws -> TokenizerFlavor {
        if let modelType, backendModelTypes.contains(modelType) { return .backend }
        if let className {
            let base = className.hasSuffix("Fast") ? String(className.dropLast(4)) : className
            if bertClasses.contains(base) { return .bertRebuild }
            if base == "RobertaTokenizer" { return .robertaRebuild }
            if base == "XLMRobertaTokenizer" { return .xlmRobertaRebuild }
            if base == "CamembertTokenizer" { return .camembertRebuild }
            if base == "DebertaV2Tokenizer" { return .debertaV2Rebuild }
            if base == "Qwen2Tokenizer" { return .qwen2Rebuild }
            if refusedClasses.contains(base) { throw TokenizerError.unsupportedTokenizerClass(name: className) }
            return .backend
        }
        if let modelType {
            if bertModelTypes.contains(modelType) { return .bertRebuild }
            if robertaModelTypes.contains(modelType) { return .robertaRebuild }
            if xlmRobertaModelTypes.contains(modelType) { return .xlmRobertaRebuild }
            if modelType == "camembert" { return .camembertRebuild }
            if modelType == "deberta-v2" { return .debertaV2Rebuild }
            if modelType == "qwen2" || modelType == "qwen3" { return .qwen2Rebuild }
            if refusedModelTypes.contains(modelType) {
                throw TokenizerError.unsupportedTokenizerClass(name: "(model_type \(modelType))")
            }
        }
        return .backend
    }

    /// A special-token value: a plain string, or an AddedToken with flags.
    enum TokenValue {
        case plain(String)
        case token(AddedToken)

        var content: String {
            switch self {
            case .plain(let s): return s
            case .token(let t): return t.content
            }
        }
    }

    static func tokenValue(_ value: JSONValue, field: String, file: String, forceSpecial: Bool) throws -> TokenValue? {
        switch value {
        case .null: return nil
        case .string(let s): return .plain(s)
        case .object:
            var token = try TokenizerJSON.addedToken(value, field: field, file: file)
            if forceSpecial {
                // special_tokens_map.json entries: `AddedToken(**value, special=True)`.
                let explicitNormalized = value["normalized"]?.boolValue
                token.special = true
                token.normalized = explicitNormalized ?? false
            }
            return .token(token)
        default:
            throw TokenizerError.invalidField(file: file, field: field, reason: "not a string or token object")
        }
    }

    struct Built {
        var normalizer: Normalizer?
        var preTokenizer: PreTokenizer?
        var model: TokenizerModel
        var added: AddedVocabulary
        var postProcessor: PostProcessor
        var truncateLeft: Bool
        var modelMaxLength: Int?
        var padTokenID: Int32?
        var vocabularySize: Int
        var flavor: TokenizerFlavor
        /// Added tokens' ids by content; they take precedence over the model vocabulary.
        var addedIDs: [ByteString: Int32]
        var modelInputNames: [String]
        var paddingSide: String
    }

    /// tokenizer.json's "model" for a class that rebuilds from its vocabulary: it must be of the kind the class builds.
    static func rebuildModel(_ tokenizerJSON: JSONValue?, expected: String, className: String) throws -> JSONValue {
        guard let m = tokenizerJSON?["model"] else {
            throw TokenizerError.invalidField(file: TokenizerJSON.file, field: "model", reason: "missing")
        }
        let t = m["type"]?.stringValue ?? "untyped"
        guard t == expected else { throw TokenizerError.unsupportedComponent(kind: "model", type: "\(t) under \(className)") }
        return m
    }

    /// transformers `convert_to_native_format`: the first Precompiled normalizer, at the top or in a Sequence.
    static func firstPrecompiled(_ value: JSONValue?) throws -> PrecompiledCharsMap? {
        guard let value, !value.isNull else { return nil }
        let field = "normalizer"
        var items: [(JSONValue, String)] = [(value, field)]
        if value["type"]?.stringValue == "Sequence", let list = value["normalizers"]?.arrayValue {
            items = list.enumerated().map { ($0.element, "\(field).normalizers[\($0.offset)]") }
        }
        for (item, f) in items where item["type"]?.stringValue == "Precompiled" {
            guard let text = item["precompiled_charsmap"]?.stringValue else { continue }
            return try PrecompiledCharsMap(base64: text, field: "\(f).precompiled_charsmap")
        }
        return nil
    }

    static func configBool(_ config: JSONValue, _ key: String, default def: Bool) throws -> Bool {
        guard let v = config[key], !v.isNull else { return def }
        guard let b = v.boolValue else {
            throw TokenizerError.invalidField(file: configFile, field: key, reason: "not a boolean")
        }
        return b
    }

    /// `extra_special_tokens` (list form) or the deprecated `additional_special_tokens`.
    static func extraSpecialTokens(_ kwarg: (String) -> JSONValue?) throws -> [TokenValue] {
        var list = kwarg("extra_special_tokens")
        if list?.arrayValue?.isEmpty ?? true { list = kwarg("additional_special_tokens") }
        guard let items = list?.arrayValue else { return [] }
        var out: [TokenValue] = []
        for (i, item) in items.enumerated() {
            if let v = try tokenValue(item, field: "additional_special_tokens[\(i)]", file: configFile, forceSpecial: true) {
                out.append(v)
            }
        }
        return out
    }

    /// tokenizers `WordPiece::read_file`: one token per line (split on "\n"), `trim_end()`,
    /// id = line number; a repeated token keeps its last line number.
    static func vocabularyFromText(_ data: Data) throws -> VocabularyEntries {
        let bytes = [UInt8](data)
        var vocab = VocabularyEntries()
        var lineStart = 0
        var index = 0
        var i = 0
        while lineStart < bytes.count {
            i = lineStart
            while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            guard let line = String(validating: bytes[lineStart..<i], as: UTF8.self) else {
                throw TokenizerError.invalidField(file: "vocab.txt", field: "line \(index + 1)", reason: "invalid UTF-8")
            }
            var scalars = Array(line.unicodeScalars)
            while let last = scalars.last, CharClasses.isWhitespace(last) { scalars.removeLast() }
            guard index <= Int(Int32.max), index < TokenizerJSON.maxVocabularySize else {
                throw TokenizerError.invalidField(file: "vocab.txt", field: "line \(index + 1)", reason: "too many lines")
            }
            vocab.append(bytes: ByteString(scalars: scalars).bytes, id: Int32(index))
            index += 1
            lineStart = i + 1
        }
        return vocab
    }
}

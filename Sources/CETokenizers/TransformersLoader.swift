import CECore
import Foundation

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
                throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
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
            sentencePieceModel: try read(SentencePieceModel.file))
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
        "CodeLlamaTokenizer", "CohereTokenizer", "DebertaTokenizer", "DebertaV2Tokenizer",
        "EsmcTokenizer", "GPT2Tokenizer", "GPTNeoXTokenizer", "GemmaTokenizer", "LEDTokenizer", "LasrTokenizer",
        "LayoutXLMTokenizer", "LlamaTokenizer", "LukeTokenizer", "MBart50Tokenizer", "MBartTokenizer", "MLukeTokenizer",
        "MvpTokenizer", "NllbTokenizer", "NougatTokenizer", "OpenAIGPTTokenizer", "PegasusTokenizer", "Qwen2Tokenizer",
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
        "deberta-v2", "gemma", "gpt2", "gpt_neo", "gpt_neox", "gptj", "herbert", "layoutxlm", "led", "llama", "luke",
        "mbart", "mbart50", "mluke", "mt5", "mvp", "nllb", "opt", "pegasus", "phi", "qwen2", "qwen3", "reformer", "rembert",
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
            if refusedClasses.contains(base) { throw TokenizerError.unsupportedTokenizerClass(name: className) }
            return .backend
        }
        if let modelType {
            if bertModelTypes.contains(modelType) { return .bertRebuild }
            if robertaModelTypes.contains(modelType) { return .robertaRebuild }
            if xlmRobertaModelTypes.contains(modelType) { return .xlmRobertaRebuild }
            if modelType == "camembert" { return .camembertRebuild }
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

    static func build(_ files: TokenizerFiles) throws -> Built {
        let config: JSONValue
        if let data = files.tokenizerConfigJSON {
            config = try JSONValue.parse(data, file: configFile)
            guard config.objectMembers != nil else {
                throw TokenizerError.invalidJSON(file: configFile, reason: "top level is not an object")
            }
        } else {
            config = .object([])
        }
        var tokenizerJSON: JSONValue? = nil
        // A WordPiece vocabulary is read from its bytes by the model (tens of thousands of entries are most
        // of the file and, built as a tree, most of the tokenizer's load time); any other is put back.
        var wordPieceVocabulary: DeferredVocabulary? = nil
        if let data = files.tokenizerJSON {
            var (parsed, deferred) = try JSONValue.parseDeferringVocabulary(data, file: TokenizerJSON.file)
            if let deferred {
                if (try? TokenizerJSON.modelType(parsed["model"])) == "WordPiece" {
                    wordPieceVocabulary = deferred
                } else {
                    parsed = parsed.replacingModelVocab(with: try deferred.parse())
                }
            }
            guard parsed.objectMembers != nil else {
                throw TokenizerError.invalidJSON(file: TokenizerJSON.file, reason: "top level is not an object")
            }
            if let v = parsed["version"], !v.isNull, v.stringValue != "1.0" {
                throw TokenizerError.invalidField(file: TokenizerJSON.file, field: "version", reason: "unknown version")
            }
            tokenizerJSON = parsed
            PhaseTrace.mark("tokenizer.json parsed")
        }
        guard tokenizerJSON != nil || files.hasModelFile else {
            throw TokenizerError.missingTokenizerFiles(directory: "(in-memory files)")
        }
        let className = config["tokenizer_class"]?.stringValue
        var modelType: String? = nil
        // model_type decides when no class is named, and overrides a named class for backendModelTypes (a class
        // that already loads tokenizer.json as is needs no look).
        let namedBackend = className.map { (try? TransformersLoader.flavor(className: $0, modelType: nil)) == .backend } ?? false
        if let data = files.modelConfigJSON, !namedBackend {
            modelType = try JSONValue.parse(data, file: "config.json")["model_type"]?.stringValue
        }
        var flavor = try flavor(className: className, modelType: modelType)
        var sentencePiece: SentencePieceModel? = nil
        if tokenizerJSON == nil {
            // No tokenizer.json: RobertaTokenizer builds its BPE from vocab.json + merges.txt, XLMRobertaTokenizer its
            // Unigram from sentencepiece.bpe.model; a vocab.txt is read as BertTokenizer's; any other class would need
            // tokenizer.json.
            if flavor == .xlmRobertaRebuild || flavor == .camembertRebuild, let data = files.sentencePieceModel {
                sentencePiece = try SentencePieceModel(data: data)
            } else if flavor == .robertaRebuild, files.vocabJSON != nil {
                guard files.mergesTXT != nil else {
                    throw TokenizerError.missingFile(name: "merges.txt", reason: "RobertaTokenizer without tokenizer.json builds its BPE from vocab.json and merges.txt")
                }
            } else if files.vocabTXT != nil {
                flavor = .bertRebuild
            } else {
                throw TokenizerError.missingFile(name: "tokenizer.json", reason: "only RoBERTa-family tokenizers are built from vocab.json + merges.txt, only XLM-R- and CamemBERT-family ones from sentencepiece.bpe.model, and only BERT-family ones from vocab.txt")
            }
        }

        // --- init kwargs: tokenizer_config.json, plus special_tokens_map.json in the legacy case.
        var kwargs: [(key: String, value: JSONValue)] = config.objectMembers ?? []
        func kwarg(_ key: String) -> JSONValue? {
            kwargs.last(where: { $0.key == key })?.value
        }
        let decoderJSON = config["added_tokens_decoder"]
        let legacy = decoderJSON == nil
        var forcedSpecialKeys: Set<String> = []
        if legacy, let data = files.specialTokensMapJSON {
            let map = try JSONValue.parse(data, file: "special_tokens_map.json")
            for (key, value) in map.objectMembers ?? [] {
                kwargs.append((key, value))
                if value.objectMembers != nil { forcedSpecialKeys.insert(key) }
            }
        }
        func namedValue(_ key: String) throws -> TokenValue? {
            guard let v = kwarg(key) else { return nil }
            let file = forcedSpecialKeys.contains(key) ? "special_tokens_map.json" : configFile
            return try tokenValue(v, field: key, file: file, forceSpecial: forcedSpecialKeys.contains(key))
        }

        // --- added_tokens_decoder (id -> AddedToken), as `_from_pretrained` assembles it.
        var decoder: [(id: Int64, token: AddedToken)] = []
        if let decoderJSON {
            guard let members = decoderJSON.objectMembers else {
                throw TokenizerError.invalidField(file: configFile, field: "added_tokens_decoder", reason: "not an object")
            }
            for (key, value) in members {
                guard let id = Int64(key) else {
                    throw TokenizerError.invalidField(file: configFile, field: "added_tokens_decoder.\(key)", reason: "key is not an integer")
                }
                decoder.append((id, try TokenizerJSON.addedToken(value, field: "added_tokens_decoder.\(key)", file: configFile)))
            }
        } else {
            var byID: [Int64: AddedToken] = [:]
            if let data = files.addedTokensJSON {
                var specialContents = Set<ByteString>()
                for key in namedTokenKeys {
                    if let v = try namedValue(key) { specialContents.insert(ByteString(v.content)) }
                }
                for v in try extraSpecialTokens(kwarg) { specialContents.insert(ByteString(v.content)) }
                let json = try JSONValue.parse(data, file: "added_tokens.json")
                for (content, idValue) in json.objectMembers ?? [] {
                    guard let id = idValue.int64Value else {
                        throw TokenizerError.invalidField(file: "added_tokens.json", field: content, reason: "id is not an integer")
                    }
                    let special = specialContents.contains(ByteString(content))
                    byID[id] = AddedToken(content: content, singleWord: false, lstrip: false, rstrip: false,
                                          normalized: !special, special: special)
                }
            }
            if let tokenizerJSON {
                for (id, token) in try TokenizerJSON.addedTokens(tokenizerJSON["added_tokens"]) { byID[id] = token }
            }
            decoder = byID.map { ($0.key, $0.value) }
        }
        decoder.sort { $0.id < $1.id }
        var decoderByContent: [ByteString: AddedToken] = [:]
        for (_, token) in decoder { decoderByContent[ByteString(token.content)] = token }

        // --- named special tokens (SPECIAL_TOKENS_ATTRIBUTES order, then model-specific `*_token` keys).
        var named: [(key: String, value: TokenValue)] = []
        for key in namedTokenKeys {
            var value = try namedValue(key)
            if value == nil, let def = classDefaults(flavor)[key], kwarg(key) == nil {
                value = .plain(def)
            }
            if value == nil, flavor == .backend, key == "pad_token", let tj = tokenizerJSON,
               let padToken = tj["padding"]?["pad_token"]?.stringValue {
                value = .plain(padToken)
            }
            if let v = value {
                if let t = decoderByContent[ByteString(v.content)] {
                    named.append((key, .token(t)))
                } else {
                    named.append((key, v))
                }
            }
        }
        var seenKeys = Set(namedTokenKeys)
        for (key, raw) in kwargs where key.hasSuffix("_token") && !seenKeys.contains(key) {
            seenKeys.insert(key)
            guard case .string = raw, let v = try namedValue(key) else { continue }
            named.append((key, v))
        }
        var extras = try extraSpecialTokens(kwarg)
        // `_from_pretrained` renames tokenizer_config.json's additional_special_tokens to extra_special_tokens; once that
        // key exists, an `additional_special_tokens` the class passes on is ignored.
        let configNamesExtras = kwarg("extra_special_tokens") != nil || kwarg("additional_special_tokens") != nil
        if let sentencePiece, !configNamesExtras {
            // SentencePieceExtractor.extract: CONTROL and USER_DEFINED pieces become `additional_special_tokens`
            // (AddedToken, normalized=False, special only for CONTROL).
            extras = sentencePiece.pieces.compactMap { p in
                guard p.pieceType == .control || p.pieceType == .userDefined else { return nil }
                return .token(AddedToken(content: String(decoding: p.bytes, as: UTF8.self), singleWord: false, lstrip: false,
                                         rstrip: false, normalized: false, special: p.pieceType == .control))
            }
        } else if flavor == .camembertRebuild, !configNamesExtras {
            extras = ["<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"].map { .plain($0) }
        }
        if flavor == .camembertRebuild, let i = named.firstIndex(where: { $0.key == "mask_token" }), case .plain(let mask) = named[i].value {
            named[i].value = .token(AddedToken(content: mask, singleWord: false, lstrip: true, rstrip: false, normalized: false, special: true))
        }
        /// The content of a named special token, as the class received it.
        func namedContent(_ key: String) -> String? { named.first(where: { $0.key == key })?.value.content }

        // --- model, normalizer, pre-tokenizer.
        let normalizer: Normalizer?
        let preTokenizer: PreTokenizer?
        let model: TokenizerModel
        switch flavor {
        case .bertRebuild:
            let vocab: VocabularyEntries
            if let tokenizerJSON {
                vocab = try TokenizerJSON.wordPiece(tokenizerJSON["model"], deferred: wordPieceVocabulary).vocab
            } else {
                vocab = try vocabularyFromText(files.vocabTXT!)
            }
            let lowercase = try configBool(config, "do_lower_case", default: true)
            let strip: Bool
            if let s = config["strip_accents"], !s.isNull {
                guard let b = s.boolValue else {
                    throw TokenizerError.invalidField(file: configFile, field: "strip_accents", reason: "not a boolean or null")
                }
                strip = b
            } else {
                strip = lowercase
            }
            normalizer = .bert(cleanText: true,
                               handleChineseChars: try configBool(config, "tokenize_chinese_chars", default: true),
                               stripAccents: strip, lowercase: lowercase)
            preTokenizer = .bert
            let unk = namedContent("unk_token") ?? "[UNK]"
            model = .wordPiece(try WordPiece(vocab: vocab, unkToken: unk, continuingSubwordPrefix: "##",
                                             maxInputCharsPerWord: 100))
        case .robertaRebuild:
            let vocab: [ByteString: Int32], merges: [(String, String)]
            if let tokenizerJSON {
                let m = try rebuildModel(tokenizerJSON, expected: "BPE", className: className ?? "RobertaTokenizer")
                vocab = try TokenizerJSON.vocabulary(m["vocab"], field: "model.vocab")
                merges = try TokenizerJSON.merges(m["merges"], field: "model.merges")
            } else {
                vocab = try TokenizerJSON.vocabularyFile(files.vocabJSON!)
                merges = try TokenizerJSON.mergesFile(files.mergesTXT!)
            }
            model = .bpe(try BPE(vocab: vocab, merges: merges, unkToken: nil, fuseUnk: false, byteFallback: false,
                                 ignoreMerges: false, continuingSubwordPrefix: "", endOfWordSuffix: ""))
            normalizer = nil
            preTokenizer = .byteLevel(addPrefixSpace: try configBool(config, "add_prefix_space", default: false), useRegex: true)
        case .xlmRobertaRebuild, .camembertRebuild:
            let camembert = flavor == .camembertRebuild
            func special(_ key: String, _ fallback: String) -> (bytes: [UInt8], score: Double) {
                (Array((namedContent(key) ?? fallback).utf8), 0)
            }
            var pieces: [(bytes: [UInt8], score: Double)]
            if let sentencePiece {
                if camembert {
                    // CamembertConverter.convert_from_spm: five fixed entries, SentencePiece's pieces from the second on.
                    pieces = [(Array("<s>NOTUSED".utf8), 0), special("pad_token", "<pad>"), (Array("</s>NOTUSED".utf8), 0),
                              special("unk_token", "<unk>"), (Array("<unk>NOTUSED".utf8), -100)]
                    pieces += sentencePiece.pieces.dropFirst(1).map { ($0.bytes, Double($0.score)) }
                } else {
                    // XLMRobertaConverter.convert_from_spm: the fairseq layout, SentencePiece's first three pieces
                    // (<unk> <s> </s>) replaced by four specials.
                    pieces = [special("bos_token", "<s>"), special("pad_token", "<pad>"), special("eos_token", "</s>"),
                              special("unk_token", "<unk>")]
                    pieces += sentencePiece.pieces.dropFirst(3).map { ($0.bytes, Double($0.score)) }
                }
                pieces.append(special("mask_token", "<mask>"))
                normalizer = try sentencePiece.precompiledCharsmap.map {
                    .precompiled(try PrecompiledCharsMap(bytes: $0, field: "normalizer_spec.precompiled_charsmap",
                                                         file: SentencePieceModel.file))
                }
            } else {
                let m = try rebuildModel(tokenizerJSON, expected: "Unigram",
                                         className: className ?? (camembert ? "CamembertTokenizer" : "XLMRobertaTokenizer"))
                pieces = try TokenizerJSON.unigramPieces(m["vocab"], field: "model.vocab")
                normalizer = try firstPrecompiled(tokenizerJSON?["normalizer"]).map { .precompiled($0) }
            }
            // XLMRobertaTokenizer: unk id 3 whatever the vocabulary; CamembertTokenizer: the unk token's first entry, else 0.
            var unkID = 3
            if camembert {
                let unk = special("unk_token", "<unk>").bytes
                unkID = pieces.firstIndex(where: { $0.bytes == unk }) ?? 0
            }
            model = .unigram(try Unigram(pieces: pieces, unkID: unkID, byteFallback: false))
            let prefix = try configBool(config, "add_prefix_space", default: true)
            preTokenizer = .sequence([.whitespaceSplit, .metaspace(replacement: "\u{2581}", prependScheme: prefix ? .always : .never,
                                                                   split: true)])
        case .backend:
            let tj = tokenizerJSON!
            normalizer = try TokenizerJSON.normalizer(tj["normalizer"])
            preTokenizer = try TokenizerJSON.preTokenizer(tj["pre_tokenizer"])
            let m = tj["model"]
            switch try TokenizerJSON.modelType(m) {
            case "BPE": model = .bpe(try TokenizerJSON.bpe(m!))
            case "Unigram": model = .unigram(try TokenizerJSON.unigram(m!))
            default:
                let f = try TokenizerJSON.wordPiece(m, deferred: wordPieceVocabulary)
                model = .wordPiece(try WordPiece(vocab: f.vocab, unkToken: f.unkToken,
                                                 continuingSubwordPrefix: f.continuingSubwordPrefix,
                                                 maxInputCharsPerWord: f.maxInputCharsPerWord))
            }
        }

        PhaseTrace.mark("tokenizer model built")
        // --- added vocabulary, in the order the backend receives the tokens.
        var vocabulary = AddedVocabularyBuilder()
        var backendContents = Set<ByteString>()
        if flavor == .backend, let tj = tokenizerJSON {
            // Tokenizer deserialization adds each tokenizer.json entry on its own.
            for (_, token) in try TokenizerJSON.addedTokens(tj["added_tokens"]) {
                try vocabulary.add([token], model: model)
                backendContents.insert(ByteString(token.content))
            }
        }
        // TokenizersBackend.__init__: decoder entries, then named / model-specific / extra special tokens
        // whose content is not yet known.
        var toAdd: [TokenValue] = decoder.map { .token($0.token) }
        var encoder = backendContents
        for (_, token) in decoder { encoder.insert(ByteString(token.content)) }
        var queued = Set(toAdd.map { ByteString($0.content) })
        for value in named.map(\.value) + extras {
            let key = ByteString(value.content)
            if encoder.contains(key) || queued.contains(key) { continue }
            toAdd.append(value)
            queued.insert(key)
        }
        let namedContents = Set(named.map { ByteString($0.value.content) })
        let tokens: [AddedToken] = toAdd.map { value in
            switch value {
            case .plain(let s):
                return AddedToken(content: s, special: true)
            case .token(var t):
                if !t.special && namedContents.contains(ByteString(t.content)) { t.special = true }
                return t
            }
        }
        try vocabulary.add(tokens, model: model)

        // --- post-processor.
        let postProcessor: PostProcessor
        func namedID(_ key: String, _ fallback: String) throws -> Int32 {
            let content = namedContent(key) ?? fallback
            guard let id = vocabulary.tokenToID(content, model: model) else { throw TokenizerError.missingSpecialToken(token: content) }
            return id
        }
        switch flavor {
        case .bertRebuild:
            let cls = namedContent("cls_token") ?? "[CLS]"
            let sep = namedContent("sep_token") ?? "[SEP]"
            postProcessor = .bert(clsID: vocabulary.tokenToID(cls, model: model) ?? 2,
                                  sepID: vocabulary.tokenToID(sep, model: model) ?? 3)
        case .robertaRebuild:
            postProcessor = .roberta(clsID: try namedID("cls_token", "<s>"), sepID: try namedID("sep_token", "</s>"))
        case .xlmRobertaRebuild, .camembertRebuild:
            let bos = try namedID("bos_token", "<s>")
            let eos = try namedID("eos_token", "</s>")
            postProcessor = PostProcessor(
                single: [.special(ids: [bos], typeID: 0), .sequence(second: false, typeID: 0), .special(ids: [eos], typeID: 0)],
                pair: [.special(ids: [bos], typeID: 0), .sequence(second: false, typeID: 0), .special(ids: [eos], typeID: 0),
                       .special(ids: [eos], typeID: 0), .sequence(second: true, typeID: 0), .special(ids: [eos], typeID: 0)])
        case .backend:
            postProcessor = try TokenizerJSON.postProcessor(tokenizerJSON!["post_processor"])
        }

        let splitSpecial = try configBool(config, "split_special_tokens", default: false)
        let added = vocabulary.build(model: model, normalizer: normalizer, splitSpecialTokens: splitSpecial)

        // --- limits and sides.
        var modelMaxLength: Int? = nil
        if let v = config["model_max_length"] ?? config["max_len"], let d = v.numberValue,
           d >= 1, d <= 1_000_000 {
            modelMaxLength = Int(d)
        }
        var side = "right"
        if let s = config["truncation_side"]?.stringValue {
            side = s
        } else if let d = TokenizerJSON.truncationDirection(tokenizerJSON?["truncation"]) {
            side = d.lowercased()
        }
        guard side == "right" || side == "left" else {
            throw TokenizerError.invalidField(file: configFile, field: "truncation_side", reason: "not \"right\" or \"left\"")
        }
        // model_input_names: tokenizer_config.json, else the class attribute (BertTokenizer lists
        // token_type_ids; DistilBertTokenizer and TokenizersBackend do not).
        var modelInputNames = ["input_ids", "attention_mask"]
        if flavor == .bertRebuild {
            let base = className.map { $0.hasSuffix("Fast") ? String($0.dropLast(4)) : $0 }
            if base != "DistilBertTokenizer" { modelInputNames = ["input_ids", "token_type_ids", "attention_mask"] }
        }
        if let names = config["model_input_names"], !names.isNull {
            guard let items = names.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw TokenizerError.invalidField(file: configFile, field: "model_input_names", reason: "not a list of strings")
            }
            modelInputNames = items.compactMap(\.stringValue)
        }
        var paddingSide = "right"
        if let s = config["padding_side"]?.stringValue {
            paddingSide = s
        } else if let d = tokenizerJSON?["padding"]?["direction"]?.stringValue {
            paddingSide = d.lowercased()
        }
        guard paddingSide == "right" || paddingSide == "left" else {
            throw TokenizerError.invalidField(file: configFile, field: "padding_side", reason: "not \"right\" or \"left\"")
        }
        let padID = namedContent("pad_token").flatMap { vocabulary.tokenToID($0, model: model) }

        // Added tokens over the model's vocabulary, as tokenizers' token_to_id; kept apart (the vocabulary
        // is not copied), with the size of their union.
        let ids = vocabulary.contentToID
        let vocabularySize = model.distinctTokens + ids.keys.reduce(0) { $0 + (model.tokenToID($1) == nil ? 1 : 0) }
        return Built(normalizer: normalizer, preTokenizer: preTokenizer, model: model, added: added,
                     postProcessor: postProcessor, truncateLeft: side == "left", modelMaxLength: modelMaxLength,
                     padTokenID: padID, vocabularySize: vocabularySize, flavor: flavor, addedIDs: ids,
                     modelInputNames: modelInputNames, paddingSide: paddingSide)
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

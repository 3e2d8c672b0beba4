import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// `TransformersLoader.build`, stage by stage, in the order transformers 5's `AutoTokenizer.from_pretrained`
/// assembles a tokenizer: read the files and pick the class (`Sources`), collect the init kwargs (`Kwargs`),
/// the added-tokens decoder and the named special tokens (`SpecialTokens`), build normalizer, pre-tokenizer and
/// model (`Pipeline`), register the added vocabulary, then the post-processor and the limits.
extension TransformersLoader {
    /// The parsed files and the tokenizer class they resolve to.
    struct Sources {
        var files: TokenizerFiles
        var config: JSONValue
        var tokenizerJSON: JSONValue?
        /// A WordPiece vocabulary left as bytes for the model to read (see `readTokenizerJSON`).
        var wordPieceVocabulary: DeferredVocabulary?
        var className: String?
        var flavor: TokenizerFlavor
        var sentencePiece: SentencePieceModel?
    }

    /// The init kwargs: tokenizer_config.json, plus special_tokens_map.json in the legacy case.
    struct Kwargs {
        var entries: [(key: String, value: JSONValue)]
        /// Keys whose value came from special_tokens_map.json as an object (`AddedToken(**value, special=True)`).
        var forcedSpecialKeys: Set<String>
        /// Whether tokenizer_config.json has `added_tokens_decoder` (absent: the legacy path).
        var hasDecoder: Bool

        func value(_ key: String) -> JSONValue? { entries.last(where: { $0.key == key })?.value }

        func named(_ key: String) throws -> TokenValue? {
            guard let v = value(key) else { return nil }
            let forced = forcedSpecialKeys.contains(key)
            return try tokenValue(v, field: key, file: forced ? "special_tokens_map.json" : configFile, forceSpecial: forced)
        }
    }

    /// The added-tokens decoder (id order) and the named and extra special tokens the class receives.
    struct SpecialTokens {
        var decoder: [(id: Int64, token: AddedToken)]
        var named: [(key: String, value: TokenValue)]
        var extras: [TokenValue]

        /// The content of a named special token, as the class received it.
        func content(_ key: String) -> String? { named.first(where: { $0.key == key })?.value.content }
    }

    struct Pipeline {
        var normalizer: Normalizer?
        var preTokenizer: PreTokenizer?
        var model: TokenizerModel
    }

    static func build(_ files: TokenizerFiles) throws -> Built {
        let sources = try readSources(files)
        let kwargs = try initKwargs(sources)
        let special = try specialTokens(sources, kwargs, decoder: try addedTokensDecoder(sources, kwargs))
        let pipeline = try buildPipeline(sources, special)
        PhaseTrace.mark("tokenizer model built")
        let vocabulary = try addedVocabulary(sources, special, model: pipeline.model)
        let postProcessor = try buildPostProcessor(sources, special, vocabulary: vocabulary, model: pipeline.model)
        let splitSpecial = try configBool(sources.config, "split_special_tokens", default: false)
        let added = vocabulary.build(model: pipeline.model, normalizer: pipeline.normalizer, splitSpecialTokens: splitSpecial)
        let sides = try limitsAndSides(sources)
        let padID = special.content("pad_token").flatMap { vocabulary.tokenToID($0, model: pipeline.model) }
        // Added tokens over the model's vocabulary, as tokenizers' token_to_id; kept apart (the vocabulary
        // is not copied), with the size of their union.
        let ids = vocabulary.contentToID
        let model = pipeline.model
        let vocabularySize = model.distinctTokens + ids.keys.reduce(0) { $0 + (model.tokenToID($1) == nil ? 1 : 0) }
        return Built(normalizer: pipeline.normalizer, preTokenizer: pipeline.preTokenizer, model: model, added: added,
                     postProcessor: postProcessor, truncateLeft: sides.truncationSide == "left",
                     modelMaxLength: sides.modelMaxLength, padTokenID: padID, vocabularySize: vocabularySize,
                     flavor: sources.flavor, addedIDs: ids, modelInputNames: sides.modelInputNames,
                     paddingSide: sides.paddingSide)
    }

    // MARK: - Stage 1: files and class

    static func readSources(_ files: TokenizerFiles) throws -> Sources {
        let config: JSONValue
        if let data = files.tokenizerConfigJSON {
            config = try JSONValue.parse(data, file: configFile)
            guard config.objectMembers != nil else {
                throw TokenizerError.invalidJSON(file: configFile, reason: "top level is not an object")
            }
        } else {
            config = .object([])
        }
        let (tokenizerJSON, wordPieceVocabulary) = try readTokenizerJSON(files)
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
        var sources = Sources(files: files, config: config, tokenizerJSON: tokenizerJSON,
                              wordPieceVocabulary: wordPieceVocabulary, className: className,
                              flavor: try flavor(className: className, modelType: modelType), sentencePiece: nil)
        if tokenizerJSON == nil { try resolveWithoutTokenizerJSON(&sources) }
        return sources
    }

    /// tokenizer.json, parsed. A WordPiece vocabulary is read from its bytes by the model (tens of thousands of
    /// entries are most of the file and, built as a tree, most of the tokenizer's load time); any other is put back.
    static func readTokenizerJSON(_ files: TokenizerFiles) throws -> (JSONValue?, DeferredVocabulary?) {
        guard let data = files.tokenizerJSON else { return (nil, nil) }
        var wordPieceVocabulary: DeferredVocabulary? = nil
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
        PhaseTrace.mark("tokenizer.json parsed")
        return (parsed, wordPieceVocabulary)
    }

    /// No tokenizer.json: RobertaTokenizer builds its BPE from vocab.json + merges.txt, XLMRobertaTokenizer its
    /// Unigram from sentencepiece.bpe.model; a vocab.txt is read as BertTokenizer's; any other class would need
    /// tokenizer.json.
    static func resolveWithoutTokenizerJSON(_ sources: inout Sources) throws {
        let files = sources.files
        let flavor = sources.flavor
        if flavor == .xlmRobertaRebuild || flavor == .camembertRebuild || flavor == .debertaV2Rebuild, let data = files.sentencePieceModel {
            sources.sentencePiece = try SentencePieceModel(data: data)
        } else if flavor == .robertaRebuild, files.vocabJSON != nil {
            guard files.mergesTXT != nil else {
                throw TokenizerError.missingFile(name: "merges.txt", reason: "RobertaTokenizer without tokenizer.json builds its BPE from vocab.json and merges.txt")
            }
        } else if files.vocabTXT != nil {
            sources.flavor = .bertRebuild
        } else {
            throw TokenizerError.missingFile(name: "tokenizer.json", reason: "only RoBERTa-family tokenizers are built from vocab.json + merges.txt, only XLM-R- and CamemBERT-family ones from sentencepiece.bpe.model, only DeBERTa-v2 ones from spm.model, and only BERT-family ones from vocab.txt")
        }
    }

    // MARK: - Stage 2: init kwargs and special tokens

    static func initKwargs(_ sources: Sources) throws -> Kwargs {
        let hasDecoder = sources.config["added_tokens_decoder"] != nil
        var kwargs = Kwargs(entries: sources.config.objectMembers ?? [], forcedSpecialKeys: [], hasDecoder: hasDecoder)
        if !hasDecoder, let data = sources.files.specialTokensMapJSON {
            let map = try JSONValue.parse(data, file: "special_tokens_map.json")
            for (key, value) in map.objectMembers ?? [] {
                kwargs.entries.append((key, value))
                if value.objectMembers != nil { kwargs.forcedSpecialKeys.insert(key) }
            }
        }
        return kwargs
    }

    /// added_tokens_decoder (id -> AddedToken), as `_from_pretrained` assembles it, in id order.
    static func addedTokensDecoder(_ sources: Sources, _ kwargs: Kwargs) throws -> [(id: Int64, token: AddedToken)] {
        var decoder: [(id: Int64, token: AddedToken)] = []
        if let decoderJSON = sources.config["added_tokens_decoder"] {
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
            decoder = try legacyAddedTokens(sources, kwargs).map { ($0.key, $0.value) }
        }
        decoder.sort { $0.id < $1.id }
        return decoder
    }

    /// The legacy decoder: added_tokens.json (special when a named or extra special token has the content), then
    /// tokenizer.json's added_tokens over it.
    static func legacyAddedTokens(_ sources: Sources, _ kwargs: Kwargs) throws -> [Int64: AddedToken] {
        var byID: [Int64: AddedToken] = [:]
        if let data = sources.files.addedTokensJSON {
            var specialContents = Set<ByteString>()
            for key in namedTokenKeys {
                if let v = try kwargs.named(key) { specialContents.insert(ByteString(v.content)) }
            }
            for v in try extraSpecialTokens(kwargs.value) { specialContents.insert(ByteString(v.content)) }
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
        if let tokenizerJSON = sources.tokenizerJSON {
            for (id, token) in try TokenizerJSON.addedTokens(tokenizerJSON["added_tokens"]) { byID[id] = token }
        }
        return byID
    }

    /// Named special tokens (SPECIAL_TOKENS_ATTRIBUTES order, then model-specific `*_token` keys) and the extras.
    static func specialTokens(_ sources: Sources, _ kwargs: Kwargs,
                              decoder: [(id: Int64, token: AddedToken)]) throws -> SpecialTokens {
        var decoderByContent: [ByteString: AddedToken] = [:]
        for (_, token) in decoder { decoderByContent[ByteString(token.content)] = token }
        var named: [(key: String, value: TokenValue)] = []
        for key in namedTokenKeys {
            var value = try kwargs.named(key)
            if value == nil, let def = classDefaults(sources.flavor)[key], kwargs.value(key) == nil {
                value = .plain(def)
            }
            if value == nil, sources.flavor == .backend || sources.flavor == .qwen2Rebuild, key == "pad_token",
               let padToken = sources.tokenizerJSON?["padding"]?["pad_token"]?.stringValue {
                value = .plain(padToken)
            }
            if let v = value {
                named.append((key, decoderByContent[ByteString(v.content)].map { .token($0) } ?? v))
            }
        }
        var seenKeys = Set(namedTokenKeys)
        for (key, raw) in kwargs.entries where key.hasSuffix("_token") && !seenKeys.contains(key) {
            seenKeys.insert(key)
            guard case .string = raw, let v = try kwargs.named(key) else { continue }
            named.append((key, v))
        }
        if sources.flavor == .camembertRebuild, let i = named.firstIndex(where: { $0.key == "mask_token" }),
           case .plain(let mask) = named[i].value {
            named[i].value = .token(AddedToken(content: mask, singleWord: false, lstrip: true, rstrip: false, normalized: false, special: true))
        }
        return SpecialTokens(decoder: decoder, named: named, extras: try extras(sources, kwargs))
    }

    /// The extra special tokens: the kwargs', else (when the config names none) SentencePiece's CONTROL and
    /// USER_DEFINED pieces, or CamemBERT's three NOTUSED tokens.
    static func extras(_ sources: Sources, _ kwargs: Kwargs) throws -> [TokenValue] {
        // `_from_pretrained` renames tokenizer_config.json's additional_special_tokens to extra_special_tokens; once that
        // key exists, an `additional_special_tokens` the class passes on is ignored.
        let configNamesExtras = kwargs.value("extra_special_tokens") != nil || kwargs.value("additional_special_tokens") != nil
        if let sentencePiece = sources.sentencePiece, !configNamesExtras {
            // SentencePieceExtractor.extract: CONTROL and USER_DEFINED pieces become `additional_special_tokens`
            // (AddedToken, normalized=False, special only for CONTROL).
            return sentencePiece.pieces.compactMap { p in
                guard p.pieceType == .control || p.pieceType == .userDefined else { return nil }
                return .token(AddedToken(content: String(decoding: p.bytes, as: UTF8.self), singleWord: false, lstrip: false,
                                         rstrip: false, normalized: false, special: p.pieceType == .control))
            }
        }
        if sources.flavor == .camembertRebuild, !configNamesExtras {
            return ["<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"].map { .plain($0) }
        }
        return try extraSpecialTokens(kwargs.value)
    }
}

// MARK: - Stage 3: normalizer, pre-tokenizer, model

extension TransformersLoader {
    static func buildPipeline(_ sources: Sources, _ special: SpecialTokens) throws -> Pipeline {
        switch sources.flavor {
        case .bertRebuild: return try bertPipeline(sources, special)
        case .robertaRebuild: return try robertaPipeline(sources)
        case .xlmRobertaRebuild, .camembertRebuild: return try unigramPipeline(sources, special)
        case .debertaV2Rebuild: return try debertaV2Pipeline(sources, special)
        case .qwen2Rebuild: return try qwen2Pipeline(sources)
        case .backend: return try backendPipeline(sources)
        }
    }

    /// Qwen2Tokenizer.__init__: byte-level BPE from tokenizer.json's vocabulary and merges, NFC, Qwen2's split.
    static func qwen2Pipeline(_ sources: Sources) throws -> Pipeline {
        guard let tokenizerJSON = sources.tokenizerJSON else {
            throw TokenizerError.missingFile(name: "tokenizer.json", reason: "Qwen2Tokenizer is built from tokenizer.json here")
        }
        let m = try rebuildModel(tokenizerJSON, expected: "BPE", className: sources.className ?? "Qwen2Tokenizer")
        let vocab = try TokenizerJSON.vocabulary(m["vocab"], field: "model.vocab")
        let merges = try TokenizerJSON.merges(m["merges"], field: "model.merges")
        let model = TokenizerModel.bpe(try BPE(vocab: vocab, merges: merges, unkToken: nil, fuseUnk: false, byteFallback: false,
                                               ignoreMerges: false, continuingSubwordPrefix: "", endOfWordSuffix: ""))
        let prefix = try configBool(sources.config, "add_prefix_space", default: false)
        return Pipeline(normalizer: .nfc, preTokenizer: .sequence([.qwen2Split, .byteLevel(addPrefixSpace: prefix, useRegex: false)]), model: model)
    }

    /// BertTokenizer.__init__: BertNormalizer and BertPreTokenizer from tokenizer_config.json, WordPiece over the vocabulary.
    static func bertPipeline(_ sources: Sources, _ special: SpecialTokens) throws -> Pipeline {
        let config = sources.config
        let vocab: VocabularyEntries
        if let tokenizerJSON = sources.tokenizerJSON {
            vocab = try TokenizerJSON.wordPiece(tokenizerJSON["model"], deferred: sources.wordPieceVocabulary).vocab
        } else {
            vocab = try vocabularyFromText(sources.files.vocabTXT!)
        }
        let lowercase = try configBool(config, "do_lower_case", default: true)
        var strip = lowercase
        if let s = config["strip_accents"], !s.isNull {
            guard let b = s.boolValue else {
                throw TokenizerError.invalidField(file: configFile, field: "strip_accents", reason: "not a boolean or null")
            }
            strip = b
        }
        let normalizer = Normalizer.bert(cleanText: true,
                                         handleChineseChars: try configBool(config, "tokenize_chinese_chars", default: true),
                                         stripAccents: strip, lowercase: lowercase)
        let model = TokenizerModel.wordPiece(try WordPiece(vocab: vocab, unkToken: special.content("unk_token") ?? "[UNK]",
                                                           continuingSubwordPrefix: "##", maxInputCharsPerWord: 100))
        return Pipeline(normalizer: normalizer, preTokenizer: .bert, model: model)
    }

    /// RobertaTokenizer.__init__: byte-level BPE from the vocabulary and merges, no normalizer.
    static func robertaPipeline(_ sources: Sources) throws -> Pipeline {
        let vocab: [ByteString: Int32], merges: [(String, String)]
        if let tokenizerJSON = sources.tokenizerJSON {
            let m = try rebuildModel(tokenizerJSON, expected: "BPE", className: sources.className ?? "RobertaTokenizer")
            vocab = try TokenizerJSON.vocabulary(m["vocab"], field: "model.vocab")
            merges = try TokenizerJSON.merges(m["merges"], field: "model.merges")
        } else {
            vocab = try TokenizerJSON.vocabularyFile(sources.files.vocabJSON!)
            merges = try TokenizerJSON.mergesFile(sources.files.mergesTXT!)
        }
        let model = TokenizerModel.bpe(try BPE(vocab: vocab, merges: merges, unkToken: nil, fuseUnk: false, byteFallback: false,
                                               ignoreMerges: false, continuingSubwordPrefix: "", endOfWordSuffix: ""))
        let prefix = try configBool(sources.config, "add_prefix_space", default: false)
        return Pipeline(normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: prefix, useRegex: true), model: model)
    }

    /// XLMRobertaTokenizer / CamembertTokenizer.__init__: Unigram over tokenizer.json's vocabulary or the
    /// SentencePiece model's pieces in the fairseq layout, Precompiled normalizer, WhitespaceSplit + Metaspace.
    static func unigramPipeline(_ sources: Sources, _ special: SpecialTokens) throws -> Pipeline {
        let camembert = sources.flavor == .camembertRebuild
        func piece(_ key: String, _ fallback: String) -> (bytes: [UInt8], score: Double) {
            (Array((special.content(key) ?? fallback).utf8), 0)
        }
        var pieces: [(bytes: [UInt8], score: Double)]
        let normalizer: Normalizer?
        if let sentencePiece = sources.sentencePiece {
            if camembert {
                // CamembertConverter.convert_from_spm: five fixed entries, SentencePiece's pieces from the second on.
                pieces = [(Array("<s>NOTUSED".utf8), 0), piece("pad_token", "<pad>"), (Array("</s>NOTUSED".utf8), 0),
                          piece("unk_token", "<unk>"), (Array("<unk>NOTUSED".utf8), -100)]
                pieces += sentencePiece.pieces.dropFirst(1).map { ($0.bytes, Double($0.score)) }
            } else {
                // XLMRobertaConverter.convert_from_spm: the fairseq layout, SentencePiece's first three pieces
                // (<unk> <s> </s>) replaced by four specials.
                pieces = [piece("bos_token", "<s>"), piece("pad_token", "<pad>"), piece("eos_token", "</s>"),
                          piece("unk_token", "<unk>")]
                pieces += sentencePiece.pieces.dropFirst(3).map { ($0.bytes, Double($0.score)) }
            }
            pieces.append(piece("mask_token", "<mask>"))
            normalizer = try sentencePiece.precompiledCharsmap.map {
                .precompiled(try PrecompiledCharsMap(bytes: $0, field: "normalizer_spec.precompiled_charsmap",
                                                     file: SentencePieceModel.file))
            }
        } else {
            let m = try rebuildModel(sources.tokenizerJSON, expected: "Unigram",
                                     className: sources.className ?? (camembert ? "CamembertTokenizer" : "XLMRobertaTokenizer"))
            pieces = try TokenizerJSON.unigramPieces(m["vocab"], field: "model.vocab")
            normalizer = try firstPrecompiled(sources.tokenizerJSON?["normalizer"]).map { .precompiled($0) }
        }
        // XLMRobertaTokenizer: unk id 3 whatever the vocabulary; CamembertTokenizer: the unk token's first entry, else 0.
        var unkID = 3
        if camembert {
            let unk = piece("unk_token", "<unk>").bytes
            unkID = pieces.firstIndex(where: { $0.bytes == unk }) ?? 0
        }
        let model = TokenizerModel.unigram(try Unigram(pieces: pieces, unkID: unkID, byteFallback: false))
        let prefix = try configBool(sources.config, "add_prefix_space", default: true)
        let preTokenizer = PreTokenizer.sequence([.whitespaceSplit, .metaspace(replacement: "\u{2581}",
                                                                               prependScheme: prefix ? .always : .never, split: true)])
        return Pipeline(normalizer: normalizer, preTokenizer: preTokenizer, model: model)
    }

    /// TokenizersBackend: tokenizer.json as is.
    static func backendPipeline(_ sources: Sources) throws -> Pipeline {
        let tj = sources.tokenizerJSON!
        let m = tj["model"]
        let model: TokenizerModel
        switch try TokenizerJSON.modelType(m) {
        case "BPE": model = .bpe(try TokenizerJSON.bpe(m!))
        case "Unigram": model = .unigram(try TokenizerJSON.unigram(m!))
        default:
            let f = try TokenizerJSON.wordPiece(m, deferred: sources.wordPieceVocabulary)
            model = .wordPiece(try WordPiece(vocab: f.vocab, unkToken: f.unkToken, continuingSubwordPrefix: f.continuingSubwordPrefix,
                                             maxInputCharsPerWord: f.maxInputCharsPerWord))
        }
        return Pipeline(normalizer: try TokenizerJSON.normalizer(tj["normalizer"]),
                        preTokenizer: try TokenizerJSON.preTokenizer(tj["pre_tokenizer"]), model: model)
    }
}

// MARK: - Stage 4: added vocabulary, post-processor, limits

extension TransformersLoader {
    /// The added vocabulary, in the order the backend receives the tokens.
    static func addedVocabulary(_ sources: Sources, _ special: SpecialTokens, model: TokenizerModel) throws -> AddedVocabularyBuilder {
        var vocabulary = AddedVocabularyBuilder()
        var backendContents = Set<ByteString>()
        if sources.flavor == .backend || sources.flavor == .qwen2Rebuild, let tj = sources.tokenizerJSON {
            // Tokenizer deserialization adds each tokenizer.json entry on its own.
            for (_, token) in try TokenizerJSON.addedTokens(tj["added_tokens"]) {
                try vocabulary.add([token], model: model)
                backendContents.insert(ByteString(token.content))
            }
        }
        // TokenizersBackend.__init__: decoder entries, then named / model-specific / extra special tokens
        // whose content is not yet known.
        var toAdd: [TokenValue] = special.decoder.map { .token($0.token) }
        var encoder = backendContents
        for (_, token) in special.decoder { encoder.insert(ByteString(token.content)) }
        var queued = Set(toAdd.map { ByteString($0.content) })
        for value in special.named.map(\.value) + special.extras {
            let key = ByteString(value.content)
            if encoder.contains(key) || queued.contains(key) { continue }
            toAdd.append(value)
            queued.insert(key)
        }
        let namedContents = Set(special.named.map { ByteString($0.value.content) })
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
        return vocabulary
    }

    static func buildPostProcessor(_ sources: Sources, _ special: SpecialTokens, vocabulary: AddedVocabularyBuilder,
                                   model: TokenizerModel) throws -> PostProcessor {
        func namedID(_ key: String, _ fallback: String) throws -> Int32 {
            let content = special.content(key) ?? fallback
            guard let id = vocabulary.tokenToID(content, model: model) else { throw TokenizerError.missingSpecialToken(token: content) }
            return id
        }
        switch sources.flavor {
        case .bertRebuild:
            let cls = special.content("cls_token") ?? "[CLS]"
            let sep = special.content("sep_token") ?? "[SEP]"
            return .bert(clsID: vocabulary.tokenToID(cls, model: model) ?? 2, sepID: vocabulary.tokenToID(sep, model: model) ?? 3)
        case .robertaRebuild:
            return .roberta(clsID: try namedID("cls_token", "<s>"), sepID: try namedID("sep_token", "</s>"))
        case .xlmRobertaRebuild, .camembertRebuild:
            let bos = TemplatePiece.special(ids: [try namedID("bos_token", "<s>")], typeID: 0)
            let eos = TemplatePiece.special(ids: [try namedID("eos_token", "</s>")], typeID: 0)
            return PostProcessor(single: [bos, .sequence(second: false, typeID: 0), eos],
                                 pair: [bos, .sequence(second: false, typeID: 0), eos, eos, .sequence(second: true, typeID: 0), eos])
        case .debertaV2Rebuild:
            return debertaV2PostProcessor(special, vocabulary: vocabulary, model: model)
        case .backend, .qwen2Rebuild:
            return try TokenizerJSON.postProcessor(sources.tokenizerJSON!["post_processor"])
        }
    }

    struct Sides {
        var modelMaxLength: Int?
        var truncationSide: String
        var paddingSide: String
        var modelInputNames: [String]
    }

    /// model_max_length, truncation and padding sides, model_input_names.
    static func limitsAndSides(_ sources: Sources) throws -> Sides {
        let config = sources.config
        var modelMaxLength: Int? = nil
        if let v = config["model_max_length"] ?? config["max_len"], let d = v.numberValue, d >= 1, d <= 1_000_000 {
            modelMaxLength = Int(d)
        }
        let truncation = try side(config["truncation_side"]?.stringValue,
                                  TokenizerJSON.truncationDirection(sources.tokenizerJSON?["truncation"]), field: "truncation_side")
        let padding = try side(config["padding_side"]?.stringValue,
                               sources.tokenizerJSON?["padding"]?["direction"]?.stringValue, field: "padding_side")
        // model_input_names: tokenizer_config.json, else the class attribute (BertTokenizer lists
        // token_type_ids; DistilBertTokenizer and TokenizersBackend do not).
        var modelInputNames = ["input_ids", "attention_mask"]
        if sources.flavor == .bertRebuild {
            let base = sources.className.map { $0.hasSuffix("Fast") ? String($0.dropLast(4)) : $0 }
            if base != "DistilBertTokenizer" { modelInputNames = ["input_ids", "token_type_ids", "attention_mask"] }
        }
        if sources.flavor == .debertaV2Rebuild { modelInputNames = ["input_ids", "attention_mask", "token_type_ids"] }
        if let names = config["model_input_names"], !names.isNull {
            guard let items = names.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw TokenizerError.invalidField(file: configFile, field: "model_input_names", reason: "not a list of strings")
            }
            modelInputNames = items.compactMap(\.stringValue)
        }
        return Sides(modelMaxLength: modelMaxLength, truncationSide: truncation, paddingSide: padding, modelInputNames: modelInputNames)
    }

    /// A side from tokenizer_config.json, else tokenizer.json's direction (lowercased), else "right".
    static func side(_ configured: String?, _ tokenizerJSONDirection: String?, field: String) throws -> String {
        let s = configured ?? tokenizerJSONDirection?.lowercased() ?? "right"
        guard s == "right" || s == "left" else {
            throw TokenizerError.invalidField(file: configFile, field: field, reason: "not \"right\" or \"left\"")
        }
        return s
    }
}

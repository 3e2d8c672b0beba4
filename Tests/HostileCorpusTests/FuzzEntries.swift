import CEArtifact
import CECore
import CEFormats
import CEImport
import CETokenizers
import Foundation

/// One input of each fuzz target (Fuzz/, scripts/fuzz.sh), also replayed by FuzzRegressionTests on every
/// committed finding. Each entry feeds untrusted bytes to a reader and then uses what the reader accepted
/// the way the importer does (views, copies, encodings); an entry returns normally on any typed error, so
/// only a trap, a sanitizer report, a hang or an allocation blow-up counts as a finding.
/// Fuzz/Sources/FuzzEntries/FuzzEntries.swift is a symbolic link to this file.
public enum FuzzEntries {
    /// Targets by name, in the order scripts/fuzz.sh runs them.
    public static let all: [(name: String, run: @Sendable (UnsafeRawBufferPointer) -> Void)] = [
        ("safetensors", safetensors),
        ("torchzip", torchZip),
        ("unpickler", unpickler),
        ("tokenizer", tokenizer),
        ("sentencepiece", sentencePiece),
        ("config", config),
        ("artifact", artifact),
        ("package", package),
    ]

    /// Safetensors header, then a view of every tensor as `Safetensors.File.tensor` slices it.
    public static func safetensors(_ bytes: UnsafeRawBufferPointer) {
        guard let h = try? Safetensors.readHeader(bytes) else { return }
        for e in h.entries {
            let view = UnsafeRawBufferPointer(rebasing: bytes[(h.dataOffset + e.begin)..<(h.dataOffset + e.end)])
            precondition(view.count == e.shape.elementCount * e.dtype.byteSize)
        }
    }

    /// A whole torch.save checkpoint (zip directory, records, closed unpickler), then every tensor: a view
    /// of its record or a strided copy.
    public static func torchZip(_ bytes: UnsafeRawBufferPointer) {
        if let dir = try? ZipArchive.readDirectory(bytes) {
            for e in dir.entries where e.isStored { _ = try? ZipArchive.verifyChecksum(of: e, in: bytes) }
        }
        guard let c = try? TorchZip.readCheckpoint(bytes) else { return }
        let owner = NSObject()
        for e in c.entries {
            guard let s = c.directory.entry(named: e.storageEntryName) else { continue }
            let t = TorchZip.tensor(e, storage: UnsafeRawBufferPointer(rebasing: bytes[s.dataRange]), owner: owner)
            precondition(t.storage.bytes.count == e.shape.elementCount * e.dtype.byteSize)
        }
    }

    /// A bare data.pkl, then each tensor record validated against a storage of exactly its declared size
    /// (the strided copies themselves are exercised through `torchZip`).
    public static func unpickler(_ bytes: UnsafeRawBufferPointer) {
        guard let result = try? Unpickler.read(bytes) else { return }
        for i in result.objects.indices { _ = result.kind(of: .object(i)) }
        guard let items = try? Unpickler.stateDict(result) else { return }
        for (name, r) in items {
            let (n, o) = r.storageNumel.multipliedReportingOverflow(by: r.storageDType.byteSize)
            _ = try? TorchZip.validate(name: name, r, storageBytes: o ? Int.max : n)
            _ = r.isContiguous
        }
    }

    /// Texts every loaded tokenizer encodes: ASCII, accents, CJK, emoji, controls, a long word.
    static let texts = [
        "How many people live in Berlin?", "Ça coûte 3,50 € — naïve façade", "東京は日本の首都です。",
        "👩‍👩‍👧 e\u{301} \u{0}\u{7}\u{202E}", String(repeating: "unaffable", count: 40), "",
    ]

    /// tokenizer.json bytes, loaded as transformers would (no tokenizer_config.json), then single and pair
    /// encodings with and without truncation, and a padded batch.
    public static func tokenizer(_ bytes: UnsafeRawBufferPointer) {
        guard let t = try? Tokenizer(tokenizerJSON: Data(bytes), tokenizerConfigJSON: nil) else { return }
        encodeTexts(t)
    }

    /// Single and pair encodings with and without truncation, and a padded batch.
    static func encodeTexts(_ t: Tokenizer) {
        for (i, a) in texts.enumerated() {
            _ = try? t.encode(a, maxLength: nil)
            _ = try? t.encode(a, texts[(i + 1) % texts.count], maxLength: 16)
        }
        _ = try? t.encodeBatch(Array(zip(texts, texts.reversed())), maxLength: 24)
    }

    /// sentencepiece.bpe.model bytes, loaded as an XLM-R folder without tokenizer.json, then the same encodings.
    public static func sentencePiece(_ bytes: UnsafeRawBufferPointer) {
        let config = Data(#"{"tokenizer_class": "XLMRobertaTokenizer"}"#.utf8)
        guard let t = try? Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: config, sentencePieceModel: Data(bytes))) else { return }
        encodeTexts(t)
    }

    /// config.json bytes through the strict parser, ModelConfig and the score policy.
    public static func config(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONParser.parse(bytes) else { return }
        if let c = try? ModelConfig(json: json) {
            _ = try? ScorePolicy.resolve(config: json, sentenceTransformersConfig: nil, numLabels: c.hyperparameters.numLabels)
        }
        _ = try? ScorePolicy.resolve(config: json, sentenceTransformersConfig: json, numLabels: 1)
    }

    /// The config.json the artifact target reads weights files against: a BERT of 1 layer, hidden size 8, 2
    /// heads, 16 tokens and 16 positions, small enough that a whole artifact (Fuzz/Sources/FuzzSeeds
    /// writes the seeds from it) stays a few KiB.
    public static let artifactConfigJSON = """
        {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": 16, "hidden_size": 8,
         "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu",
         "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
         "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}}

        """
    static let artifactConfig = try! ModelConfig(json: JSONParser.parse(artifactConfigJSON))

    /// The two files of a cetool artifact that are not copies of the source's: the weights file
    /// (`cetool-model.safetensors`: header, metadata against `artifactConfig`, every tensor a view, the graph
    /// validated, as `CrossEncoder` loads it) and the manifest (`cetool.json`). Every input is tried as both.
    public static func artifact(_ bytes: UnsafeRawBufferPointer) {
        _ = try? ArtifactFormat.readManifest(bytes, path: ArtifactFormat.manifestFile)
        let owner = NSObject()
        guard let read = try? ArtifactFormat.readWeights(bytes, owner: owner, config: artifactConfig,
                                                         path: ArtifactFormat.weightsFile) else { return }
        for (_, t) in read.0.weights {
            precondition(t.storage.bytes.count == t.shape.elementCount * t.dtype.byteSize)
        }
    }

    /// The package installer's checks on `cetool package` output: the manifest alone (as the root
    /// `acme--tiny`, the seeds' name), then the bytes as a whole archive — tar.gz or plain tar, both of which
    /// the reader takes — through `ModelPackage.verify` (manifest entry, every entry's checks, sizes and
    /// sha256), which writes nothing.
    public static func package(_ bytes: UnsafeRawBufferPointer) {
        _ = try? ModelPackage.parseManifest(bytes, root: "acme--tiny")
        _ = try? ModelPackage.verify(archive: bytes)
    }
}

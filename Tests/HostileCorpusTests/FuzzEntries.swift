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
    /// Targets by name, in the order scripts/fuzz.sh runs them. The artifact reader and the package
    /// manifest check join this table (and Fuzz/Package.swift) when their formats land.
    public static let all: [(name: String, run: @Sendable (UnsafeRawBufferPointer) -> Void)] = [
        ("safetensors", safetensors),
        ("torchzip", torchZip),
        ("unpickler", unpickler),
        ("tokenizer", tokenizer),
        ("config", config),
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
        for (i, a) in texts.enumerated() {
            _ = try? t.encode(a, maxLength: nil)
            _ = try? t.encode(a, texts[(i + 1) % texts.count], maxLength: 16)
        }
        _ = try? t.encodeBatch(Array(zip(texts, texts.reversed())), maxLength: 24)
    }

    /// config.json bytes through the strict parser, ModelConfig and the score policy.
    public static func config(_ bytes: UnsafeRawBufferPointer) {
        guard let json = try? JSONParser.parse(bytes) else { return }
        if let c = try? ModelConfig(json: json) {
            _ = try? ScorePolicy.resolve(config: json, sentenceTransformersConfig: nil, numLabels: c.hyperparameters.numLabels)
        }
        _ = try? ScorePolicy.resolve(config: json, sentenceTransformersConfig: json, numLabels: 1)
    }
}

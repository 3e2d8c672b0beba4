import CEArtifact
import CEConvert
import CECore
import CEFormats
import CEGraph
import CEImport
import CEQuant
import Foundation
import FuzzEntries

/// Writes the seeds of the artifact and package targets with cetool's own writers, so they are what
/// `cetool convert` and `cetool package` produce, only small: a tiny BERT folder with
/// `FuzzEntries.artifactConfigJSON` (deterministic weights, a 16-word vocab.txt), converted to fp32, fp16,
/// bf16, int8 and int8 with smoothing vectors (`art-<name>/`), and the int8 artifact packaged as `acme/tiny`
/// (`pkg/acme--tiny.tar.gz`). Usage: FuzzSeeds OUTPUT_DIR (replaced).
@_cdecl("FuzzSeeds_main")
public func fuzzSeedsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    guard argc == 2, let a = argv[1] else {
        FileHandle.standardError.write(Data("usage: FuzzSeeds OUTPUT_DIR\n".utf8))
        return 2
    }
    do {
        try writeSeeds(URL(fileURLWithPath: String(cString: a)))
        return 0
    } catch {
        FileHandle.standardError.write(Data("FuzzSeeds: \(error)\n".utf8))
        return 1
    }
}

/// -sanitize=fuzzer links libFuzzer's main object, which names this symbol; FuzzSeeds never runs it.
@_cdecl("LLVMFuzzerTestOneInput")
public func unusedFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { 0 }

/// HF names and shapes of BertForSequenceClassification at hidden size `h`, intermediate `i`, vocabulary `v`,
/// positions `p`, one layer and one label (transformers' state_dict names).
func bertTensors(h: Int, i: Int, v: Int, p: Int) -> [(String, [Int])] {
    let l = "bert.encoder.layer.0."
    return [
        ("bert.embeddings.word_embeddings.weight", [v, h]), ("bert.embeddings.position_embeddings.weight", [p, h]),
        ("bert.embeddings.token_type_embeddings.weight", [2, h]),
        ("bert.embeddings.LayerNorm.weight", [h]), ("bert.embeddings.LayerNorm.bias", [h]),
        (l + "attention.self.query.weight", [h, h]), (l + "attention.self.query.bias", [h]),
        (l + "attention.self.key.weight", [h, h]), (l + "attention.self.key.bias", [h]),
        (l + "attention.self.value.weight", [h, h]), (l + "attention.self.value.bias", [h]),
        (l + "attention.output.dense.weight", [h, h]), (l + "attention.output.dense.bias", [h]),
        (l + "attention.output.LayerNorm.weight", [h]), (l + "attention.output.LayerNorm.bias", [h]),
        (l + "intermediate.dense.weight", [i, h]), (l + "intermediate.dense.bias", [i]),
        (l + "output.dense.weight", [h, i]), (l + "output.dense.bias", [h]),
        (l + "output.LayerNorm.weight", [h]), (l + "output.LayerNorm.bias", [h]),
        ("bert.pooler.dense.weight", [h, h]), ("bert.pooler.dense.bias", [h]),
        ("classifier.weight", [1, h]), ("classifier.bias", [1]),
    ]
}

func writeSeeds(_ out: URL) throws {
    let fm = FileManager.default
    try? fm.removeItem(at: out)
    try fm.createDirectory(at: out, withIntermediateDirectories: true)

    // The source folder.
    let hf = out.appendingPathComponent("hf")
    try fm.createDirectory(at: hf, withIntermediateDirectories: true)
    try Data(FuzzEntries.artifactConfigJSON.utf8).write(to: hf.appendingPathComponent("config.json"))
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "how", "many", "people", "live", "in", "berlin", "?",
                 "the", "city", "##s", "."]
    try Data((vocab.joined(separator: "\n") + "\n").utf8).write(to: hf.appendingPathComponent("vocab.txt"))
    try Data(#"{"tokenizer_class": "BertTokenizer", "do_lower_case": true, "model_max_length": 16}"#.utf8)
        .write(to: hf.appendingPathComponent("tokenizer_config.json"))
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> Float {  // xorshift64*, uniform in [-0.5, 0.5)
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24) - 0.5
    }
    let tensors = bertTensors(h: 8, i: 16, v: vocab.count, p: 16).map { name, dims in
        (name, Tensor(floats: (0..<dims.reduce(1, *)).map { _ in next() }, shape: Shape(dims)))
    }
    let w = try FileWriter(creating: hf.appendingPathComponent("model.safetensors").path)
    _ = try Safetensors.write(tensors, metadata: [("format", "pt")], to: w)
    try w.finish()

    // Artifacts at every precision, and int8 with SmoothQuant vectors (`_smooth` tensors).
    let model = try ModelDirectory.load(hf)
    var smoothing: [String: [Float]] = [:]
    for (name, t) in model.graph.weights where t.shape.rank == 2 { smoothing[name] = (0..<t.shape.dims[1]).map { 0.5 + Float($0) } }
    // The four precisions as `cetool convert` writes them (one library call, its defaults); int8 with synthetic
    // smoothing vectors besides, so the seeds hold `_smooth` tensors of known values.
    for precision in [Quantize.Precision.fp32, .fp16, .bf16, .int8] {
        try Conversion.run(source: hf, to: out.appendingPathComponent("art-" + precision.rawValue), options: Conversion.Options(precision: precision))
    }
    let smoothed = try Quantize.apply(.int8, to: model.graph, plan: .all, activationMax: smoothing, alpha: 0.5)
    _ = try Artifact.write(model: model, graph: smoothed, precision: .int8, plan: .all, to: out.appendingPathComponent("art-int8-smooth"), force: false)
    let pkg = out.appendingPathComponent("pkg")
    try fm.createDirectory(at: pkg, withIntermediateDirectories: true)
    _ = try ModelPackage.create(from: out.appendingPathComponent("art-int8"), name: "acme/tiny", output: pkg, force: false)
}

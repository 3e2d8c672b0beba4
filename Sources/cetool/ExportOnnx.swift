import ArgumentParser
import CEArtifact
import CEConvert
import CECore
import CEImport
import CEOnnx
import CEQuant
import Foundation

struct ExportOnnx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Export a model as a sentence-transformers folder with onnx/model.onnx (CrossEncoder or SentenceTransformer(DIR, backend=\"onnx\"), ONNX Runtime).",
        discussion: """
        Writes config.json, config_sentence_transformers.json, modules.json, sentence_bert_config.json, the tokenizer \
        files, onnx/model.onnx (inputs input_ids, attention_mask and, for BERT and ELECTRA, token_type_ids: int64 \
        [batch_size, sequence_length]; output logits [batch_size, num_labels]; opset 17) and README.md (formats/onnx.md). \
        A bi-encoder (a SentenceTransformer folder or artifact) exports its Transformer module: output last_hidden_state \
        [batch_size, sequence_length, hidden], with modules.json, its configs and the Pooling / Dense / Normalize folders \
        copied, for SentenceTransformer(DIR, backend="onnx"). \
        fp16 stores fp16 weights widened to fp32 by Cast nodes, as cetool computes them. An int8 artifact exports its \
        own int8 codes, scales and smoothing (ONNX Runtime's MatMulNBits, bits 8, domain com.microsoft). The output appears whole or not \
        at all; an existing output is replaced only with --force.
        """)

    @Argument(help: "The model: a HuggingFace model directory, a cetool artifact, or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var model: String

    @Option(help: "Output folder.")
    var output: String

    @Option(help: "fp32 or fp16 (default: the model's own precision). fp16 of an fp32 model rounds its weights as `cetool convert --dtype fp16` does.")
    var dtype: Quantize.Precision?

    @OptionGroup var replace: ReplaceOptions

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if let dtype, dtype != .fp32, dtype != .fp16 {
            throw ValidationError("--dtype takes fp32 or fp16; export an int8 or bf16 model from its artifact without --dtype")
        }
    }

    func run() throws {
        var imported = try ModelDirectory.load(URL(fileURLWithPath: try resolveModelPath(model)))
        let stored = SavePretrained.storage(of: imported.graph).0
        if let dtype, dtype != stored {
            guard stored == .fp32 else {
                throw OnnxExportError.unsupportedPrecision(requested: dtype.rawValue, model: stored.rawValue,
                                                           reason: "a reduced-precision model cannot be widened; export it as it is")
            }
            imported.graph = try Conversion.quantize(imported, options: Conversion.Options(precision: dtype)).graph
        }
        let target = URL(fileURLWithPath: output)
        try createParents(of: target.path)
        let policy = ReplacePolicy(force: replace.replaces, protecting: [imported.directory], foreign: try replace.foreign(for: target))
        StagedOutput.removeStagingOnSignals()
        let s = try OnnxExport.write(imported, to: target, policy: policy)
        if json {
            write(JSONWriter.write(.object([
                ("output", .string(target.path)), ("precision", .string(s.precision.rawValue)), ("model_bytes", .int(Int64(s.modelBytes))),
                ("files", .array(s.files.map(\.json))),
            ])) + "\n")
        } else {
            write(String(format: "%@: ONNX %@ model %.1f MB, %d files\n", target.path, s.precision.rawValue, Double(s.modelBytes) / 1e6, s.files.count))
        }
    }
}

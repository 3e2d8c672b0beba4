import ArgumentParser
import CEArtifact
import CEConvert
import CECore
import CEGraph
import CEImport
import CEQuant
import CERuntime
import Foundation

extension Quantize.Precision: ExpressibleByArgument {}
extension Quantize.Plan.Activations: ExpressibleByArgument {}
extension Conversion.Rounding: ExpressibleByArgument {}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a HuggingFace cross-encoder folder into a cetool artifact (int8, fp16, bf16 or fp32).",
        discussion: """
        Writes a folder with cetool-model.safetensors (canonical tensors, 64-byte aligned), the source's \
        config and tokenizer files and cetool.json (sizes and sha256 of every file); see formats/artifact.md. \
        The output appears whole or not at all; an existing output is replaced only with --force.
        """)

    @Argument(help: "HuggingFace model directory (config.json, model.safetensors or pytorch_model.bin, tokenizer files).")
    var modelDirectory: String

    @Option(help: "Weight precision of the encoder linears: int8, fp16, bf16 or fp32.")
    var dtype: Quantize.Precision = .int8

    @Option(help: "Output folder (default: <model-directory>-<dtype>).")
    var output: String?

    @OptionGroup var quantization: QuantizationOptions
    @OptionGroup var replace: ReplaceOptions

    @Option(help: ArgumentHelp("Fold a causal-LM reranker (Qwen3ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM) into a one-label "
                               + "sequence classifier first: score = lm_head[TRUE] − lm_head[FALSE] at the last token (sentence-transformers' LogitScore).",
                               valueName: "TRUE,FALSE"))
    var foldLmHead: String?

    @Option(help: "With --fold-lm-head: the model's prompt template, recorded in the artifact's config.json (cetool_fold).")
    var promptTemplate: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        try quantization.check(for: dtype)
        if let f = foldLmHead { _ = try LMHeadFold.tokens(f) }
        if promptTemplate != nil, foldLmHead == nil { throw ValidationError("--prompt-template needs --fold-lm-head") }
    }

    func run() throws {
        let source = URL(fileURLWithPath: try resolveModelPath(modelDirectory))
        // The default output sits beside the folder named (for a hub id, beside its name in the current folder).
        let target = URL(fileURLWithPath: output ?? (URL(fileURLWithPath: modelDirectory).standardizedFileURL.path + "-" + dtype.rawValue))
        try createParents(of: target.path)
        let options = try quantization.conversionOptions(dtype)
        let foreign = try replace.foreign(for: target)
        StagedOutput.removeStagingOnSignals()
        let t0 = Date()
        var from = source
        var folded: URL?
        if let f = foldLmHead {
            // The folded folder is staged beside the output and removed afterwards.
            let (yes, no) = try LMHeadFold.tokens(f)
            let tmp = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).fold-\(getpid())")
            try LMHeadFold.write(source: source, trueToken: yes, falseToken: no, promptTemplate: promptTemplate, to: tmp)
            (from, folded) = (tmp, tmp)
        }
        defer { if let folded { try? FileManager.default.removeItem(at: folded) } }
        let summary = try Conversion.run(source: from, to: target, options: options, force: replace.replaces, replaceForeign: foreign)
        write(conversionSummary(summary, target: target, precision: dtype, seconds: Date().timeIntervalSince(t0), json: json))
    }
}

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

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws { try quantization.check(for: dtype) }

    func run() throws {
        let source = URL(fileURLWithPath: try resolveModelPath(modelDirectory))
        // The default output sits beside the folder named (for a hub id, beside its name in the current folder).
        let target = URL(fileURLWithPath: output ?? (URL(fileURLWithPath: modelDirectory).standardizedFileURL.path + "-" + dtype.rawValue))
        try createParents(of: target.path)
        let options = try quantization.conversionOptions(dtype)
        let foreign = try replace.foreign(for: target)
        StagedOutput.removeStagingOnSignals()
        let t0 = Date()
        let summary = try Conversion.run(source: source, to: target, options: options, force: replace.replaces, replaceForeign: foreign)
        write(conversionSummary(summary, target: target, precision: dtype, seconds: Date().timeIntervalSince(t0), json: json))
    }
}

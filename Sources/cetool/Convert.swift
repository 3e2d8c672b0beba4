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

    @Option(parsing: .upToNextOption,
            help: "Tensors to keep in fp32: attention, ffn_up, ffn_down, token_embedding (position/type embeddings, LayerNorms, biases, pooler and classifier always stay fp32).")
    var keepFp32: [String] = []

    @Option(help: "int8: JSON lines of text pairs (as for predict) to calibrate smoothing and gptq rounding on (default: a small built-in set).")
    var calibration: String?

    @Option(name: .customLong("smoothing-alpha"), parsing: .unconditional,
            help: "int8: SmoothQuant migration strength α within 0...1 (0 = no smoothing; default: 0.5).")
    var smoothingAlphaGiven: Float?

    @Option(name: .customLong("activations"),
            help: "int8 compute: int16 (inputs quantized per row to int16 at run time; the default), int8 (to int8: coarser; for int8-only kernels) or fp32 (weight-only: int8 weights widened at load, fp32 speed).")
    var activationsGiven: Quantize.Plan.Activations?

    @Option(name: .customLong("group-size"), parsing: .unconditional,
            help: "int8 linears: one weight scale per output channel and group of this many input positions (even; 0 = one per output channel; default: \(Quantize.Plan.defaultWeightGroupSize)).")
    var groupSizeGiven: Int?

    @Option(name: .customLong("rounding"), help: "int8 rounding: gptq (error-compensating, from the calibration inputs; the default) or nearest.")
    var roundingGiven: Conversion.Rounding?

    // The int8 options are Optional so that validate() can tell given from defaulted; the body reads these.
    var smoothingAlpha: Float { smoothingAlphaGiven ?? 0.5 }
    var activations: Quantize.Plan.Activations { activationsGiven ?? .int16 }
    var groupSize: Int { groupSizeGiven ?? Quantize.Plan.defaultWeightGroupSize }
    var rounding: Conversion.Rounding { roundingGiven ?? .gptq }

    @Option(help: "BLAS threads for calibration and rounding (default: OpenBLAS's choice).")
    var threads: Int?

    @Flag(help: "Never draw calibration and rounding progress (drawn on standard error only when that is a terminal).")
    var noProgress = false

    @OptionGroup var replace: ReplaceOptions

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if let a = smoothingAlphaGiven, !(0...1).contains(a) { throw ValidationError("--smoothing-alpha must be within 0...1; got \(a)") }
        if let g = groupSizeGiven, g != 0, !Graph.isValidWeightGroupSize(g) {
            throw ValidationError("--group-size must be 0 or an even number within 2...65536; got \(g)")
        }
        for k in keepFp32.flatMap({ $0.split(separator: ",").map(String.init) }) where !["attention", "ffn_up", "ffn_down", "token_embedding"].contains(k) {
            throw ValidationError("--keep-fp32 takes attention, ffn_up, ffn_down, token_embedding; got \"\(k)\"")
        }
        let int8Only = [(calibration != nil, "--calibration"), (smoothingAlphaGiven != nil, "--smoothing-alpha"),
                        (activationsGiven != nil, "--activations"), (groupSizeGiven != nil, "--group-size"), (roundingGiven != nil, "--rounding")]
        let ignored = int8Only.filter(\.0).map(\.1) + (dtype == .fp32 && !keepFp32.isEmpty ? ["--keep-fp32"] : [])
        if dtype != .int8, !ignored.isEmpty {
            throw ValidationError("\(ignored.joined(separator: ", ")) \(ignored.count == 1 ? "applies" : "apply") only to --dtype int8\(ignored == ["--keep-fp32"] ? ", fp16 or bf16" : ""); this conversion is \(dtype.rawValue)")
        }
    }

    func run() throws {
        let source = URL(fileURLWithPath: try resolveModelPath(modelDirectory))
        // The default output sits beside the folder named (for a hub id, beside its name in the current folder).
        let target = URL(fileURLWithPath: output ?? (URL(fileURLWithPath: modelDirectory).standardizedFileURL.path + "-" + dtype.rawValue))
        try createParents(of: target.path)
        var options = Conversion.Options(precision: dtype)
        options.plan.activations = activations
        options.plan.weightGroupSize = groupSize
        for k in keepFp32.flatMap({ $0.split(separator: ",").map(String.init) }) {
            switch k {
            case "attention": options.plan.attention = false
            case "ffn_up": options.plan.ffnUp = false
            case "ffn_down": options.plan.ffnDown = false
            case "token_embedding": options.plan.tokenEmbedding = false
            default: throw ValidationError("--keep-fp32 takes attention, ffn_up, ffn_down, token_embedding; got \"\(k)\"")
            }
        }
        options.smoothingAlpha = smoothingAlpha
        options.rounding = rounding
        options.threads = threads
        options.showProgress = !noProgress && isatty(2) == 1
        if let calibration, dtype == .int8 {
            options.calibration = try parsePairs(try readInput(calibration))
            options.calibrationName = URL(fileURLWithPath: calibration).lastPathComponent
        }
        do { try options.validate() } catch let e as ConversionError { throw ValidationError(e.description) }
        let foreign = try replace.foreign(for: target)
        StagedOutput.removeStagingOnSignals()
        let t0 = Date()
        let summary = try Conversion.run(source: source, to: target, options: options, force: replace.replaces, replaceForeign: foreign)
        let seconds = Date().timeIntervalSince(t0)
        let ratio = summary.sourceWeightsBytes > 0 ? Double(summary.weightsBytes) / Double(summary.sourceWeightsBytes) : 0
        if json {
            write(JSONWriter.write(.object([
                ("output", .string(target.path)), ("precision", .string(dtype.rawValue)),
                ("weights_bytes", .int(Int64(summary.weightsBytes))), ("source_weights_bytes", .int(Int64(summary.sourceWeightsBytes))),
                ("size_ratio", .double(ratio)), ("seconds", .double(seconds)),
                ("files", .array(summary.files.map { .object([("path", .string($0.path)), ("size", .int(Int64($0.size))), ("sha256", .string($0.sha256))]) })),
            ])) + "\n")
        } else {
            write(String(format: "%@: %@ artifact, weights %.1f MB (%.1f %% of the source's %.1f MB), %d files, %.1f s\n",
                         target.path, dtype.rawValue, Double(summary.weightsBytes) / 1e6, 100 * ratio,
                         Double(summary.sourceWeightsBytes) / 1e6, summary.files.count, seconds))
        }
    }
}

import ArgumentParser
import CEArtifact
import CEConvert
import CECore
import CEGraph
import CEQuant
import Foundation

/// convert's quantization options. The int8-only ones are Optional so that `check` can refuse one given with
/// another precision (where it would be ignored); `conversionOptions` fills in the defaults.
struct QuantizationOptions: ParsableArguments {
    @Option(parsing: .upToNextOption,
            help: "Tensors to keep in fp32: attention, ffn_up, ffn_down, token_embedding (position/type embeddings, LayerNorms, biases, pooler and classifier always stay fp32).")
    var keepFp32: [String] = []

    @Option(help: "int8: JSON lines of text pairs (as for predict) to calibrate smoothing and gptq rounding on (default: a small built-in set).")
    var calibration: String?

    @Option(name: .customLong("smoothing-alpha"), parsing: .unconditional,
            help: "int8: SmoothQuant migration strength α within 0...1 (0 = no smoothing; default: 0.5).")
    var smoothingAlpha: Float?

    @Option(name: .customLong("activations"),
            help: "int8 compute: int16 (every input quantized per row to int16 at run time; the default), auto (per linear: int8 inputs where the calibration pairs keep the int8 profile with every bound halved, else int16), int8 (every input to int8 per row: the u8 x s8 kernel, coarser), int8_grouped (to int8 per row and weight group: the same kernel, about 3.5x less rounding error) or fp32 (weight-only: int8 weights widened at load, fp32 speed).")
    var activations: Quantize.Plan.Activations?

    @Option(name: .customLong("group-size"), parsing: .unconditional,
            help: "int8 linears: one weight scale per output channel and group of this many input positions (even; 0 = one per output channel; default: \(Quantize.Plan.defaultWeightGroupSize)).")
    var groupSize: Int?

    @Option(name: .customLong("rounding"), help: "int8 rounding: gptq (error-compensating, from the calibration inputs; the default) or nearest.")
    var rounding: Conversion.Rounding?

    @Option(help: "BLAS threads for calibration and rounding (default: OpenBLAS's choice).")
    var threads: Int?

    @Flag(help: "Never draw calibration and rounding progress (drawn on standard error only when that is a terminal).")
    var noProgress = false

    static let keepable = ["attention", "ffn_up", "ffn_down", "token_embedding"]
    var keep: [String] { keepFp32.flatMap { $0.split(separator: ",").map(String.init) } }

    /// Ranges, names, and options that `dtype` would ignore.
    func check(for dtype: Quantize.Precision) throws {
        if let a = smoothingAlpha, !(0...1).contains(a) { throw ValidationError("--smoothing-alpha must be within 0...1; got \(a)") }
        if let g = groupSize, g != 0, !Graph.isValidWeightGroupSize(g) {
            throw ValidationError("--group-size must be 0 or an even number within 2...65536; got \(g)")
        }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1; got \(t)") }
        for k in keep where !Self.keepable.contains(k) {
            throw ValidationError("--keep-fp32 takes attention, ffn_up, ffn_down, token_embedding; got \"\(k)\"")
        }
        let int8Only = [(calibration != nil, "--calibration"), (smoothingAlpha != nil, "--smoothing-alpha"),
                        (activations != nil, "--activations"), (groupSize != nil, "--group-size"), (rounding != nil, "--rounding")]
        let ignored = int8Only.filter(\.0).map(\.1) + (dtype == .fp32 && !keepFp32.isEmpty ? ["--keep-fp32"] : [])
        if dtype != .int8, !ignored.isEmpty {
            throw ValidationError("\(ignored.joined(separator: ", ")) \(ignored.count == 1 ? "applies" : "apply") only to --dtype int8\(ignored == ["--keep-fp32"] ? ", fp16 or bf16" : ""); this conversion is \(dtype.rawValue)")
        }
    }

    /// The library's options for `dtype`, with convert's defaults where nothing was given.
    func conversionOptions(_ dtype: Quantize.Precision) throws -> Conversion.Options {
        var o = Conversion.Options(precision: dtype)
        o.plan.activations = activations ?? .int16
        o.plan.weightGroupSize = groupSize ?? Quantize.Plan.defaultWeightGroupSize
        o.plan.attention = !keep.contains("attention")
        o.plan.ffnUp = !keep.contains("ffn_up")
        o.plan.ffnDown = !keep.contains("ffn_down")
        o.plan.tokenEmbedding = !keep.contains("token_embedding")
        o.smoothingAlpha = smoothingAlpha ?? 0.5
        o.rounding = rounding ?? .gptq
        o.threads = threads
        o.showProgress = !noProgress && isatty(2) == 1
        if let calibration, dtype == .int8 {
            o.calibration = try parsePairs(try readInput(calibration))
            o.calibrationName = URL(fileURLWithPath: calibration).lastPathComponent
        }
        do { try o.validate() } catch let e as ConversionError { throw ValidationError(e.description) }
        return o
    }
}

/// convert's summary: one line, or JSON (output, precision, sizes, their ratio, seconds, files).
func conversionSummary(_ s: Artifact.Summary, target: URL, precision: Quantize.Precision, seconds: Double, json: Bool) -> String {
    let ratio = s.sourceWeightsBytes > 0 ? Double(s.weightsBytes) / Double(s.sourceWeightsBytes) : 0
    guard !json else {
        return JSONWriter.write(.object([
            ("output", .string(target.path)), ("precision", .string(precision.rawValue)),
            ("weights_bytes", .int(Int64(s.weightsBytes))), ("source_weights_bytes", .int(Int64(s.sourceWeightsBytes))),
            ("size_ratio", .double(ratio)), ("seconds", .double(seconds)),
            ("files", .array(s.files.map(\.json))),
        ])) + "\n"
    }
    return String(format: "%@: %@ artifact, weights %.1f MB (%.1f %% of the source's %.1f MB), %d files, %.1f s\n",
                  target.path, precision.rawValue, Double(s.weightsBytes) / 1e6, 100 * ratio,
                  Double(s.sourceWeightsBytes) / 1e6, s.files.count, seconds)
}

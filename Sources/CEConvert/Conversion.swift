import CEArtifact
import CECore
import CEGraph
import CEImport
import CEQuant
import CERuntime
import CEVerify
import Foundation

public enum ConversionError: Error, Equatable, CustomStringConvertible {
    /// An option out of its range, or one that the chosen precision would ignore.
    case invalidOption(name: String, reason: String)
    case alreadyAnArtifact(path: String)
    case noCalibrationPairs

    public var description: String {
        switch self {
        case .invalidOption(let n, let r): return "\(n): \(r)"
        case .alreadyAnArtifact(let p): return "\(p) is already a cetool artifact; convert its source folder"
        case .noCalibrationPairs: return "the calibration set holds no pairs"
        }
    }
}

/// `cetool convert` as one library call: calibrate (int8) -> quantize -> write the artifact. The CLI, the
/// tests and the fuzz seeds call this, so what they check is what users run.
public enum Conversion {
    public enum Rounding: String, Sendable, CaseIterable {
        /// Error-compensating rounding from the calibration inputs' second moments (ErrorCompensation).
        case gptq
        /// Round half to even, weight by weight.
        case nearest
    }

    /// convert's options; the defaults are `cetool convert`'s.
    public struct Options: Sendable {
        public var precision: Quantize.Precision
        public var plan: Quantize.Plan = .all
        /// SmoothQuant migration strength, 0...1 (0: no smoothing). int8 only.
        public var smoothingAlpha: Float = 0.5
        public var rounding: Rounding = .gptq
        /// Calibration pairs (nil: Calibration.defaultPairs) and the name the artifact records for them.
        public var calibration: [(String, String)]?
        public var calibrationName: String?
        public var threads: Int?
        /// Draw calibration and rounding progress on standard error.
        public var showProgress = false

        public init(precision: Quantize.Precision) { self.precision = precision }

        public func validate() throws {
            guard smoothingAlpha >= 0, smoothingAlpha <= 1 else {
                throw ConversionError.invalidOption(name: "smoothing alpha", reason: "must be within 0...1; got \(smoothingAlpha)")
            }
            let g = plan.weightGroupSize
            guard g == 0 || Graph.isValidWeightGroupSize(g) else {
                throw ConversionError.invalidOption(name: "group size", reason: "must be 0 or an even number within 2...65536; got \(g)")
            }
            if let t = threads, t < 1 { throw ConversionError.invalidOption(name: "threads", reason: "must be at least 1; got \(t)") }
        }

        /// Whether calibration runs: int8 with smoothing, error-compensating rounding or activations chosen per linear.
        var calibrates: Bool { precision == .int8 && (smoothingAlpha > 0 || rounding == .gptq || choosesActivations) }
        /// int8 with `activations` auto: the calibration pairs choose int8 or int16 inputs per linear (ActivationChoice).
        var choosesActivations: Bool { precision == .int8 && plan.activations == .auto }
    }

    /// The graph convert writes, the plan (with `auto` activations chosen per linear), and the calibration record the
    /// artifact's plan keeps (nil without calibration).
    public struct Quantized {
        public var graph: Graph
        public var plan: Quantize.Plan
        public var calibration: JSONValue?
    }

    /// Calibrates (int8) and quantizes `model`'s graph, writing nothing. The same bytes at any thread count
    /// (formats/quantization.md, "Determinism"): every forward pass runs under Kernels.reproducibly; the calibration
    /// sums are per executor pass (its rows set by tokensPerPass, not by threads) in pass order; GPTQ rounds each row
    /// alone.
    public static func quantize(_ model: ImportedModel, options: Options) throws -> Quantized {
        try Kernels.reproducibly { try quantizeAnyThreads(model, options: options) }
    }

    private static func quantizeAnyThreads(_ model: ImportedModel, options: Options) throws -> Quantized {
        try options.validate()
        guard model.artifact == nil else { throw ConversionError.alreadyAnArtifact(path: model.directory.path) }
        var activationMax: [String: [Float]]?
        var gram: InputGram?
        var record: JSONValue?
        var fp32: CrossEncoder?
        let pairs = options.calibration ?? Calibration.defaultPairs
        if options.calibrates {
            guard !pairs.isEmpty else { throw ConversionError.noCalibrationPairs }
            var stats = CalibrationStats()
            // H's sums (an ssyrk per linear input) run beside the forward passes, in the order the inputs come.
            let inputs = options.rounding == .gptq ? BackgroundGram() : nil
            let observer: (String, UnsafePointer<Float>, Int, Int) -> Void = { name, x, rows, cols in
                stats.observe(name, x, rows: rows, cols: cols)
                inputs?.observe(name, x, rows: rows, cols: cols)
            }
            if model.graph.isEncoderOnly {
                try calibrateEncoder(model, texts: pairs.flatMap { [$0.0, $0.1] }, threads: options.threads, observer: observer)
            } else {
                let ce = try CrossEncoder(model: model, threads: options.threads)
                // Kept only when it will score the calibration pairs again (activations chosen per linear).
                if options.choosesActivations { fp32 = ce }
                ce.executor.observer = observer
                _ = try ce.logits(pairs, batchSize: 8, showProgressBar: options.showProgress)
                ce.executor.observer = nil
            }
            activationMax = options.smoothingAlpha > 0 ? stats.activationMax : nil
            gram = inputs?.finish()
            record = calibrationRecord(options, pairs: pairs.count, tokens: stats.tokens)
            PhaseTrace.mark("calibrated")
        }
        let planned = options.plan.linears(model.graph.architecture, model.graph.hyperparameters).count
        let bar = options.showProgress && options.precision != .fp32 ? ProgressBar(total: planned, label: "Rounding", unit: "tensors") : nil
        let graph = try Quantize.apply(options.precision, to: model.graph, plan: options.plan, activationMax: activationMax,
                                       alpha: options.smoothingAlpha, gram: consume gram, progress: { done, _ in bar?.update(done: done) })
        bar?.finish()
        PhaseTrace.mark("rounded")
        var plan = options.plan
        if options.choosesActivations, let fp32 {
            let linears = plan.runtimeLinears(graph.architecture, graph.hyperparameters)
            if linears.isEmpty {
                plan.activations = .int16
            } else {
                let reference = try Verifier.reference(original: fp32, pairs: pairs, name: "calibration", batchSize: 32)
                var quantized = model
                quantized.graph = graph
                let choice = try ActivationChoice.choose(quantized, linears: linears, reference: reference, threads: options.threads)
                plan.linearActivations = choice.plan
                if case .object(var members)? = record { members.append(("activation_choice", choice.record)); record = .object(members) }
            }
        }
        // A bi-encoder has no cross-encoder reference to choose against: its linears keep int16 inputs.
        if options.choosesActivations, model.graph.isEncoderOnly { plan.activations = .int16 }
        return Quantized(graph: graph, plan: plan, calibration: record)
    }

    /// The whole of `cetool convert`: loads `source`, quantizes it and writes the artifact at `target`, all or
    /// nothing. An existing target is replaced as Artifact.write says (`force`, `replaceForeign`).
    @discardableResult
    public static func run(source: URL, to target: URL, options: Options, force: Bool = false,
                           replaceForeign: Bool = false) throws -> Artifact.Summary {
        try options.validate()
        let model = try ModelDirectory.load(source)
        // A bi-encoder's Transformer module: its Pooling / Dense / Normalize folders travel with the artifact.
        let moduleFiles = model.graph.isEncoderOnly ? try sentenceTransformerModuleFiles(source) : []
        let q = try quantize(model, options: options)
        return try Artifact.write(model: model, graph: q.graph, precision: options.precision, plan: q.plan,
                                  calibration: q.calibration, to: target, force: force, replaceForeign: replaceForeign,
                                  extraFiles: moduleFiles)
    }

    /// What the artifact's plan records of calibration (formats/quantization.md).
    static func calibrationRecord(_ o: Options, pairs: Int, tokens: Int) -> JSONValue {
        let gptq = o.rounding == .gptq
        return .object([
            ("method", .string(o.smoothingAlpha > 0 ? "SmoothQuant per input channel: input × f[c], weight columns ÷ f[c]" : "none")),
            ("alpha", .double(Double(o.smoothingAlpha))),
            ("rounding", .string(gptq ? "gptq: columns in order, error carried through the upper Cholesky factor of (H + \(ErrorCompensation.dampening)·mean(diag H)·I)⁻¹, H = Σ x xᵀ of the smoothed calibration inputs"
                                      : "nearest: round half to even")),
            ("calibration", .string(o.calibrationName ?? "built-in")),
            ("pairs", .int(Int64(pairs))), ("tokens", .int(Int64(tokens))),
        ])
    }
}

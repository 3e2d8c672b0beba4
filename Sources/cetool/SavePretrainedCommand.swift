import ArgumentParser
import CEArtifact
import CEConvert
import CECore
import CEFormats
import CEImport
import CEQuant
import Foundation

struct SavePretrainedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save-pretrained",
        abstract: "Save a model as a HuggingFace model directory that sentence-transformers loads (int8: a cetool artifact), with a model card.",
        discussion: """
        Writes config.json (dtype and the sentence_transformers activation block), config_sentence_transformers.json, \
        modules.json, sentence_bert_config.json, model.safetensors (HF tensor names), the tokenizer files and README.md, \
        a model card with the quantization plan and, given --report/--plot from `cetool verify`, the verify figures. \
        int8 models have no HuggingFace form and are written as a cetool artifact with the same card. \
        The output appears whole or not at all; an existing output is replaced only with --force. Alias: save.
        """,
        aliases: ["save"])

    @Argument(help: "The model: a HuggingFace model directory, a cetool artifact, or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var modelDirectory: String

    @Option(help: "Output folder.")
    var output: String

    @Option(help: "Quantize an fp32 model in memory first: fp16, bf16 or int8 (default: save the model as it is). A reduced-precision model cannot be widened: --dtype fp32 of an fp16 artifact is refused.")
    var dtype: Quantize.Precision?

    @Option(help: "Repository id or display name shown in the card (default: the output folder's name).")
    var name: String?

    @Option(help: "Card front matter base_model (default: the source card's).")
    var baseModel: String?

    @Option(help: "Card front matter license (default: the source card's).")
    var license: String?

    @Option(help: "A `cetool verify --report` JSON of this model (its summary.model_weights_sha256 must match the weights) whose figures go into the card.")
    var report: String?

    @Option(help: "A `cetool verify --plot` SVG, copied into the folder and shown in the card.")
    var plot: String?

    @OptionGroup var replace: ReplaceOptions

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        var model = try ModelDirectory.load(URL(fileURLWithPath: try resolveModelPath(modelDirectory)))
        var card = ModelCard.Info(name: name, baseModel: baseModel, license: license)
        let stored = SavePretrained.storage(of: model.graph).0
        if let report {
            if let dtype, dtype != stored { throw ModelCardError.reportBeforeQuantization(path: report) }
            let r = try JSONFile.load(path: report, limit: 64 << 20)
            try ModelCard.checkReport(r, path: report, model: model)
            card.report = r
        }
        if let dtype, dtype != stored {
            guard stored == .fp32 else {
                if dtype == .fp32 { throw CLIError.cannotWiden(path: modelDirectory, from: stored.rawValue, to: dtype.rawValue) }
                throw CLIError.refused("--dtype quantizes fp32 models; \(modelDirectory) is already \(stored.rawValue)")
            }
            // The same calibration and rounding as `cetool convert` with its defaults.
            model.graph = try Conversion.quantize(model, options: Conversion.Options(precision: dtype)).graph
        }
        if let plot { card.plot = Array(try readInput(plot)) }
        let target = URL(fileURLWithPath: output)
        try createParents(of: target.path)
        let foreign = try replace.foreign(for: target)
        StagedOutput.removeStagingOnSignals()
        let s = try model.savePretrained(to: target, force: replace.replaces, replaceForeign: foreign, card: card)
        if json {
            write(JSONWriter.write(.object([
                ("output", .string(target.path)), ("layout", .string(s.layout.rawValue)), ("precision", .string(s.precision.rawValue)),
                ("weights_bytes", .int(Int64(s.weightsBytes))),
                ("files", .array(s.files.map(\.json))),
            ])) + "\n")
        } else {
            let kind = s.layout == .huggingFace ? "HuggingFace model directory" : "cetool artifact (int8 has no HuggingFace form)"
            write(String(format: "%@: %@, %@ weights %.1f MB, %d files\n", target.path, kind, s.precision.rawValue,
                         Double(s.weightsBytes) / 1e6, s.files.count))
        }
    }
}

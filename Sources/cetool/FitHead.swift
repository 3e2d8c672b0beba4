import CECore
import CEFormats
import CEGraph
import CEImport
import CETrain
import Foundation

/// A fresh classification head on a bare encoder (BertModel, RobertaModel, …), as CrossEncoder(model_name,
/// num_labels=N) builds it through AutoModelForSequenceClassification: the folder is rebuilt in a temporary folder
/// with config.json's `architectures` set to the sequence-classification class and N labels, and a checkpoint holding
/// the encoder's tensors plus the head's that are missing, initialised as transformers' _init_weights does: linear
/// weights N(0, initializer_range²), biases 0, LayerNorm weights 1 (a BERT checkpoint's pooler is kept).
enum FreshHead {
    static let heads = ["BertModel": "BertForSequenceClassification", "RobertaModel": "RobertaForSequenceClassification",
                        "XLMRobertaModel": "XLMRobertaForSequenceClassification", "DistilBertModel": "DistilBertForSequenceClassification",
                        "ElectraModel": "ElectraForSequenceClassification", "ModernBertModel": "ModernBertForSequenceClassification"]

    /// Builds the folder in `temp` (created) from `source`.
    static func build(source: URL, bareName: String, numLabels: Int, seed: UInt64, into temp: URL) throws {
        guard let headName = heads[bareName], let arch = ModelConfig.supported[headName] else {
            throw CLIError.refused("\(bareName) has no sequence-classification class cetool trains; bare encoders: \(heads.keys.sorted().joined(separator: ", "))")
        }
        let weights = source.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw CLIError.refused("a fresh head needs the encoder as one model.safetensors in \(source.path)")
        }
        guard case .object(var config) = try JSONParser.parse(Array(try Data(contentsOf: source.appendingPathComponent("config.json")))) else {
            throw CLIError.refused("config.json of \(source.path) is not a JSON object")
        }
        let hidden = (config.first { $0.0 == "hidden_size" || $0.0 == "dim" }?.1.intValue) ?? 0
        let range = config.first { $0.0 == "initializer_range" }?.1.doubleValue ?? 0.02
        func flag(_ k: String) -> Bool { config.first { $0.0 == k }?.1.boolValue ?? false }
        guard hidden > 0 else { throw CLIError.refused("config.json of \(source.path) gives no hidden_size") }
        let labels = (0..<numLabels).map { "LABEL_\($0)" }
        config.removeAll { ["architectures", "id2label", "label2id", "num_labels"].contains($0.0) }
        config.append(("architectures", .array([.string(headName)])))
        config.append(("id2label", .object(labels.enumerated().map { ("\($0.offset)", .string($0.element)) })))
        config.append(("label2id", .object(labels.enumerated().map { ($0.element, .int(Int64($0.offset))) })))
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !["config.json", "model.safetensors"].contains(name) {
            try FileManager.default.createSymbolicLink(at: temp.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
        }
        try Data((JSONWriter.pretty(.object(config)) + "\n").utf8).write(to: temp.appendingPathComponent("config.json"))

        let file = try Safetensors.File(path: weights.path)
        var tensors = try file.names.map { ($0, try file.tensor($0)) }
        let present = Set(file.names)
        var rng = SeededGenerator(seed: seed)
        func normal() -> Float {
            let u1 = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300), u2 = Double(rng.next() >> 11) * 0x1p-53
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2) * range)
        }
        var head: [(String, Shape, String)] = [(TensorName.classifierPool.weight, [hidden, hidden], "normal"),
                                               (TensorName.classifierOut.weight, [numLabels, hidden], "normal"),
                                               (TensorName.classifierOut.bias, [numLabels], "zero")]
        if arch != .modernbert || flag("classifier_bias") { head.append((TensorName.classifierPool.bias, [hidden], "zero")) }
        if arch == .modernbert {
            head.append((TensorName.classifierPoolNorm.weight, [hidden], "one"))
            if flag("norm_bias") { head.append((TensorName.classifierPoolNorm.bias, [hidden], "zero")) }
        }
        for (canonical, shape, initial) in head {
            guard let hf = ModelDirectory.huggingFaceName(forCanonical: canonical, architecture: arch) else { continue }
            let bare = hf.split(separator: ".", maxSplits: 1).last.map(String.init) ?? hf
            if present.contains(hf) || (hf.hasPrefix("bert.") && present.contains(bare)) { continue }
            let n = shape.dims.reduce(1, *)
            let values: [Float] = initial == "normal" ? (0..<n).map { _ in normal() } : [Float](repeating: initial == "one" ? 1 : 0, count: n)
            tensors.append((hf, Tensor(floats: values, shape: shape)))
        }
        tensors.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        let w = try FileWriter(creating: temp.appendingPathComponent("model.safetensors").path)
        _ = try Safetensors.write(tensors, metadata: [("format", "pt")], to: w)
        _ = try w.finish()
    }
}

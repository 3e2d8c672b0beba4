import CECore
import CEImport
import CEQuant
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

extension SavePretrained {
    /// The files of a sentence-transformers CrossEncoder folder that are not weights or card, as `write` makes them:
    /// config.json (dtype for `precision`, the activation block), config_sentence_transformers.json, modules.json,
    /// sentence_bert_config.json, the tokenizer files byte for byte, and special_tokens_map.json derived from
    /// tokenizer_config.json when the source has none. Sorted by path bytes. For other exporters (CEOnnx) that
    /// write the same folder around another weights format.
    public static func folderFiles(_ model: ImportedModel, precision: Quantize.Precision) throws -> [(path: String, bytes: [UInt8])] {
        var files: [(path: String, bytes: [UInt8])] = []
        let activationPath = activationPath(model.scorePolicy.activation)
        files.append(("config.json", Array((JSONWriter.pretty(try configJSON(model, precision: precision, activationPath: activationPath),
                                                             sortKeys: true) + "\n").utf8)))
        let stSource = try sourceJSON(model, "config_sentence_transformers.json")
        files.append(("config_sentence_transformers.json",
                      Array((JSONWriter.pretty(sentenceTransformersConfig(stSource, activationPath: activationPath), sortKeys: true) + "\n").utf8)))
        files.append(("modules.json", Array((JSONWriter.pretty(modulesJSON) + "\n").utf8)))
        files.append(("sentence_bert_config.json", Array((JSONWriter.pretty(sentenceBertConfig(model), indent: 4) + "\n").utf8)))
        for name in tokenizerFiles {
            let src = model.directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: src.path) else { continue }
            let m = try MappedFile(path: src.path)
            files.append((name, withExtendedLifetime(m) { Array(m.bytes) }))
        }
        if !files.contains(where: { $0.path == "special_tokens_map.json" }), let map = try specialTokensMap(model) {
            files.append(("special_tokens_map.json", Array((JSONWriter.pretty(map) + "\n").utf8)))
        }
        files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return files
    }
}

import CECore
import CEFormats
import CEImport
import CEQuant
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

extension SavePretrained {
    /// The files of a SentenceTransformer folder that are not the Transformer's weights or the card: config.json with
    /// `dtype` for `precision`, the source's other root configs and tokenizer files byte for byte, and every file of the
    /// module folders modules.json names after the Transformer (Pooling, Dense, Normalize), sorted by path bytes.
    public static func biEncoderFolderFiles(_ model: ImportedModel, precision: Quantize.Precision) throws -> [(path: String, bytes: [UInt8])] {
        let root = model.directory
        var files: [(path: String, bytes: [UInt8])] = []
        func read(_ rel: String) throws -> [UInt8] {
            let m = try MappedFile(path: root.appendingPathComponent(rel).path)
            return withExtendedLifetime(m) { Array(m.bytes) }
        }
        for name in ArtifactFormat.copiedFiles where name != "config.json" && FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path) {
            files.append((name, try read(name)))
        }
        guard case .object(var config) = model.config.raw else { throw SavePretrainedError.invalidSourceFile(name: "config.json", reason: "not a JSON object") }
        for key in ["dtype", "torch_dtype"] {
            if let i = config.firstIndex(where: { $0.0 == key }) { config[i].1 = .string(torchDType(precision)) } else { config.append((key, .string(torchDType(precision)))) }
        }
        files.append(("config.json", Array((JSONWriter.pretty(.object(config), sortKeys: true) + "\n").utf8)))
        let list = try JSONFile.load(path: root.appendingPathComponent("modules.json").path, limit: 1 << 20).arrayValue ?? []
        for (i, entry) in list.enumerated() where i > 0 {
            let path = entry["path"]?.stringValue ?? ""
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.isEmpty, !path.hasPrefix("/"), !parts.contains(".."), !path.contains("\0") else {
                if path.isEmpty { continue }
                throw SavePretrainedError.invalidSourceFile(name: "modules.json", reason: "module \(i) path \(path) leaves the folder")
            }
            var isDir: ObjCBool = false
            // Normalize is saved without files; sentence-transformers needs no folder for it.
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDir), isDir.boolValue else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(path).path) where !name.hasPrefix(".") {
                var sub: ObjCBool = false
                let rel = path + "/" + name
                guard FileManager.default.fileExists(atPath: root.appendingPathComponent(rel).path, isDirectory: &sub), !sub.boolValue else { continue }
                files.append((rel, try read(rel)))
            }
        }
        files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return files
    }

}

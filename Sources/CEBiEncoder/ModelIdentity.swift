import CECore
import CEFormats
import CERetrieve
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The identity an embedding index records (formats/index.md `model_sha256`): the sha256 of every weight and config
/// file of the SentenceTransformer folder, sorted by relative path, hashed as `path\0sha256\n` lines.
public enum ModelIdentity {
    /// Files that count: `.json`, `.safetensors`, `.bin` in the folder's root and in each module's folder (not deeper).
    static func counts(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".json") || name.hasSuffix(".safetensors") || name.hasSuffix(".bin"))
    }

    public static func sha256(folder root: URL, modules: SentenceTransformerFolder) throws -> String {
        var dirs: [String] = [""]
        for m in modules.modules {
            switch m {
            case .transformer(let p): dirs.append(p)
            case .pooling, .dense, .normalize: break
            }
        }
        // Pooling / Dense / Normalize folders are not in SentenceTransformerFolder's values: read modules.json's paths.
        if let list = try JSONFile.loadIfPresent(path: root.appendingPathComponent("modules.json").path)?.arrayValue {
            for e in list { if let p = e["path"]?.stringValue { dirs.append(p) } }
        }
        var files: [String] = []
        for d in Set(dirs) {
            let url = d.isEmpty ? root : root.appendingPathComponent(d)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            for n in names where counts(n) {
                var isDir: ObjCBool = false
                let p = url.appendingPathComponent(n).path
                if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue {
                    files.append(d.isEmpty ? n : d + "/" + n)
                }
            }
        }
        var h = CECore.SHA256()
        for rel in files.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let digest = try fileSHA256(root.appendingPathComponent(rel).path)
            h.update(Array((rel + "\0" + digest + "\n").utf8))
        }
        return CECore.SHA256.hexString(h.finalize())
    }

    /// SHA-256 (hex) of a file, hashed part by part with each part's pages dropped after it (SHA256.hex(of:)): hashing
    /// the weights leaves no trace in the process's resident size (an index search's peak RSS stays the index plus buffers).
    static func fileSHA256(_ path: String) throws -> String { try CECore.SHA256.hex(ofFile: path) }
}

extension SentenceTransformer {
    /// This model's identity (ModelIdentity.sha256).
    public func identity() throws -> String { try ModelIdentity.sha256(folder: directory, modules: folder) }
}

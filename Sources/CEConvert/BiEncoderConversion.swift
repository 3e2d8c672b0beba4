import CECore
import CEFormats
import CEGraph
import CEImport
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

extension Conversion {
    /// Calibration of a bare encoder (a SentenceTransformer's Transformer module): each text alone, as encode runs it,
    /// through the trunk (Executor.hiddenStates), `observer` seeing every encoder linear's input.
    static func calibrateEncoder(_ model: ImportedModel, texts: [String], threads: Int?,
                                 observer: @escaping (String, UnsafePointer<Float>, Int, Int) -> Void) throws {
        if let threads { Kernels.setThreads(threads) }
        let executor = try Executor(graph: model.graph, activations: .fp32)
        executor.observer = observer
        var start = 0
        while start < texts.count {
            let chunk = texts[start..<min(start + 16, texts.count)]
            let seqs = try chunk.map { t -> TokenSequence in
                let e = try model.tokenizer.encode(t, maxLength: model.defaultMaxLength)
                return TokenSequence(ids: e.ids, typeIDs: e.typeIDs)
            }
            _ = try executor.hiddenStates(seqs)
            start += chunk.count
        }
    }

    /// The files of a SentenceTransformer folder's modules after the Transformer (1_Pooling/config.json, 2_Dense/…),
    /// byte for byte, for the artifact. The Transformer must be the folder itself (modules.json path ""), as
    /// sentence-transformers 3+ saves it; a folder without modules.json (a bare encoder alone) has none.
    static func sentenceTransformerModuleFiles(_ source: URL) throws -> [(name: String, bytes: [UInt8])] {
        guard let list = try JSONFile.loadIfPresent(path: source.appendingPathComponent("modules.json").path, limit: 1 << 20)?.arrayValue else {
            return []
        }
        var out: [(name: String, bytes: [UInt8])] = []
        for (i, entry) in list.enumerated() {
            let path = entry["path"]?.stringValue ?? ""
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard !path.hasPrefix("/"), !parts.contains(".."), !path.contains("\0") else {
                throw ConversionError.invalidOption(name: "modules.json", reason: "module \(i) path \(displayEscaped(path)) leaves the folder")
            }
            if i == 0 {
                guard path.isEmpty else {
                    throw ConversionError.invalidOption(name: "modules.json", reason: "the Transformer module must be the folder itself (path \"\"), not \(displayEscaped(path))")
                }
                continue
            }
            guard !path.isEmpty else { continue }
            let dir = source.appendingPathComponent(path)
            // Normalize is saved without files; sentence-transformers does not need its folder either.
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isFolder), isFolder.boolValue else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where !name.hasPrefix(".") {
                var isDir: ObjCBool = false
                let file = dir.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDir), !isDir.boolValue else { continue }
                out.append((path + "/" + name, [UInt8](try Data(contentsOf: file))))
            }
        }
        return out
    }
}

import CECore
import CEFormats
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The weights of a model directory, whichever file layout holds them: one tensor name -> one reader.
public struct Checkpoint {
    public enum Format: String, Sendable {
        case safetensors, safetensorsSharded = "safetensors (sharded)", torchZip = "pytorch zip", torchZipSharded = "pytorch zip (sharded)"
        case cetoolArtifact = "cetool artifact"
    }

    public var format: Format
    /// Files the tensors come from, in the order listed.
    public var files: [String]
    /// Tensor names in file order.
    public var names: [String]
    private var readers: [String: (String) throws -> Tensor]

    public func tensor(_ name: String) throws -> Tensor {
        guard let r = readers[name] else { throw ImportError.missingTensor(canonical: name, expectedSource: name) }
        return try r(name)
    }

    /// Files looked for, in order of preference (as transformers: safetensors before PyTorch pickles).
    public static let candidates = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"]

    public static func load(directory: URL) throws -> Checkpoint {
        for name in candidates {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return try load(file: url) }
        }
        throw ImportError.noWeights(directory: directory.path)
    }

    /// One checkpoint file, chosen by its name: *.safetensors, *.index.json (a shard index), anything
    /// else as a PyTorch zip.
    public static func load(file: URL) throws -> Checkpoint {
        let p = file.path
        /// A single file's tensor names and reader: safetensors by name, anything else as a PyTorch zip.
        func open(_ path: String) throws -> ([String], (String) throws -> Tensor) {
            if path.hasSuffix(".safetensors") {
                let f = try Safetensors.File(path: path)
                return (f.names, f.tensor)
            }
            let f = try TorchZip.File(path: path)
            return (f.names, f.tensor)
        }
        if p.hasSuffix(".index.json") {
            return try sharded(index: p, format: p.hasSuffix(".bin.index.json") ? .torchZipSharded : .safetensorsSharded, open: open)
        }
        let (names, reader) = try open(p)
        return Checkpoint(format: p.hasSuffix(".safetensors") ? .safetensors : .torchZip, files: [p], names: names,
                          readers: Dictionary(uniqueKeysWithValues: names.map { ($0, reader) }))
    }

    /// Opens every shard once; each tensor must be in the shard the index names, and only there.
    private static func sharded(index: String, format: Format,
                                open: (String) throws -> ([String], (String) throws -> Tensor)) throws -> Checkpoint {
        let idx = try ShardIndex.load(path: index)
        var readers: [String: (String) throws -> Tensor] = [:]
        var names: [String] = []
        var files: [String] = []
        for shard in idx.shards {
            let p = idx.path(ofShard: shard)
            let (shardNames, reader) = try open(p)
            files.append(p)
            for n in shardNames {
                guard idx.shard(for: n) == shard else { throw ImportError.shardMismatch(tensor: n, shard: shard, indexed: idx.shard(for: n)) }
                guard readers[n] == nil else { throw ImportError.duplicateTensor(canonical: n, sources: [n, n]) }
                readers[n] = reader
                names.append(n)
            }
        }
        for n in idx.tensorNames where readers[n] == nil {
            throw ImportError.shardMismatch(tensor: n, shard: idx.shard(for: n) ?? "?", indexed: nil)
        }
        return Checkpoint(format: format, files: files, names: names, readers: readers)
    }
}

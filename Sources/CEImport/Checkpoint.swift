import CECore
import CEFormats
import Foundation

/// The weights of a model directory, whichever file layout holds them: one tensor name -> one reader.
public struct Checkpoint {
    public enum Format: String, Sendable {
        case safetensors, safetensorsSharded = "safetensors (sharded)", torchZip = "pytorch zip", torchZipSharded = "pytorch zip (sharded)"
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
        let fm = FileManager.default
        func path(_ n: String) -> String { directory.appendingPathComponent(n).path }
        if fm.fileExists(atPath: path("model.safetensors")) {
            let f = try Safetensors.File(path: path("model.safetensors"))
            return Checkpoint(format: .safetensors, files: [f.path], names: f.names, readers: Dictionary(uniqueKeysWithValues: f.names.map { ($0, f.tensor) }))
        }
        if fm.fileExists(atPath: path("model.safetensors.index.json")) {
            return try sharded(index: path("model.safetensors.index.json"), format: .safetensorsSharded) { p in
                let f = try Safetensors.File(path: p)
                return (f.names, f.tensor)
            }
        }
        if fm.fileExists(atPath: path("pytorch_model.bin")) {
            let f = try TorchZip.File(path: path("pytorch_model.bin"))
            return Checkpoint(format: .torchZip, files: [f.path], names: f.names, readers: Dictionary(uniqueKeysWithValues: f.names.map { ($0, f.tensor) }))
        }
        if fm.fileExists(atPath: path("pytorch_model.bin.index.json")) {
            return try sharded(index: path("pytorch_model.bin.index.json"), format: .torchZipSharded) { p in
                let f = try TorchZip.File(path: p)
                return (f.names, f.tensor)
            }
        }
        throw ImportError.noWeights(directory: directory.path)
    }

    /// One checkpoint file, chosen by its name: *.safetensors, *.index.json (a shard index), anything
    /// else as a PyTorch zip.
    public static func load(file: URL) throws -> Checkpoint {
        let p = file.path
        if p.hasSuffix(".index.json") {
            let torch = p.hasSuffix(".bin.index.json")
            return try sharded(index: p, format: torch ? .torchZipSharded : .safetensorsSharded) { shard in
                if torch {
                    let f = try TorchZip.File(path: shard)
                    return (f.names, f.tensor)
                }
                let f = try Safetensors.File(path: shard)
                return (f.names, f.tensor)
            }
        }
        if p.hasSuffix(".safetensors") {
            let f = try Safetensors.File(path: p)
            return Checkpoint(format: .safetensors, files: [f.path], names: f.names, readers: Dictionary(uniqueKeysWithValues: f.names.map { ($0, f.tensor) }))
        }
        let f = try TorchZip.File(path: p)
        return Checkpoint(format: .torchZip, files: [f.path], names: f.names, readers: Dictionary(uniqueKeysWithValues: f.names.map { ($0, f.tensor) }))
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

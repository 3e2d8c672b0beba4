import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The index of a sharded checkpoint, `pytorch_model.bin.index.json` or `model.safetensors.index.json`
/// (formats/torch-zip.md): `{"metadata": {…}, "weight_map": {tensor: shard file}}`. Shards are plain file
/// names in the index's directory; opening them is the caller's business.
public struct ShardIndex: Sendable {
    /// The index file's directory; shard paths are relative to it.
    public var directory: String
    /// `metadata`, member order kept (empty when absent).
    public var metadata: [(String, JSONValue)]
    /// `metadata.total_size` when it is an integer.
    public var totalSize: Int?
    /// `weight_map` in file order.
    public var weightMap: [(tensor: String, shard: String)]
    /// Distinct shard names in order of first appearance.
    public var shards: [String]
    private var lookup: [String: Int]

    public init(json: JSONValue, directory: String) throws {
        guard case .object(let top) = json else { throw ShardIndexError.notAnObject }
        self.directory = directory
        metadata = []
        totalSize = nil
        if let m = json["metadata"], !m.isNull {
            guard case .object(let members) = m else { throw ShardIndexError.invalidMetadata(reason: "not an object") }
            metadata = members
            if let t = m["total_size"] {
                guard let v = t.intValue, v >= 0 else { throw ShardIndexError.invalidMetadata(reason: "total_size is not a non-negative integer") }
                totalSize = v
            }
        }
        guard top.contains(where: { $0.0 == "weight_map" }) else { throw ShardIndexError.weightMapMissing }
        guard case .object(let map)? = json["weight_map"] else { throw ShardIndexError.invalidWeightMap(reason: "not an object") }
        var pairs: [(tensor: String, shard: String)] = []
        var seen: [String: Int] = [:]
        var order: [String] = []
        pairs.reserveCapacity(map.count)
        for (tensor, v) in map {
            guard let shard = v.stringValue else { throw ShardIndexError.invalidWeightMap(reason: "shard of \"\(tensor)\" is not a string") }
            if seen[shard] == nil {
                if let why = ShardIndex.shardNameProblem(shard) { throw ShardIndexError.invalidShardName(tensor: tensor, shard: shard, reason: why) }
                seen[shard] = order.count
                order.append(shard)
            }
            pairs.append((tensor, shard))
        }
        weightMap = pairs
        shards = order
        var l: [String: Int] = [:]
        for (i, p) in pairs.enumerated() { l[p.tensor] = i }
        lookup = l
    }

    /// Reads and validates the index at `path`; every shard must exist as a file beside it.
    public static func load(path: String) throws -> ShardIndex {
        let json: JSONValue
        do {
            json = try JSONFile.load(path: path)
        } catch FileError.notFound {
            throw ShardIndexError.fileMissing(path: path)
        } catch let e as JSONFileError {
            throw ShardIndexError.inFile(path: path, .invalidJSON(e.description))
        }
        let dir = PathText.parent(path)
        do {
            let index = try ShardIndex(json: json, directory: dir.isEmpty ? "." : dir)
            for s in index.shards {
                var isDir: ObjCBool = false
                let p = index.path(ofShard: s)
                guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue else {
                    throw ShardIndexError.shardMissing(shard: s, path: p)
                }
            }
            return index
        } catch let e as ShardIndexError {
            throw ShardIndexError.inFile(path: path, e)
        }
    }

    /// The shard holding `tensor`, or nil.
    public func shard(for tensor: String) -> String? { lookup[tensor].map { weightMap[$0].shard } }

    public func path(ofShard shard: String) -> String { directory + "/" + shard }

    /// Tensor names in index order.
    public var tensorNames: [String] { weightMap.map(\.tensor) }

    /// Why `name` is not a plain file name, or nil: empty, `.`/`..`, contains `/` (so also absolute), `\` or
    /// NUL, or starts with a drive letter.
    public static func shardNameProblem(_ name: String) -> String? {
        let u = Array(name.utf8)
        if u.isEmpty { return "empty" }
        if name == "." || name == ".." { return "a dot path" }
        if u.contains(0) { return "contains NUL" }
        if u.contains(UInt8(ascii: "/")) { return "contains '/' (not a plain file name)" }
        if u.contains(UInt8(ascii: "\\")) { return "contains a backslash" }
        if u.count >= 2, u[1] == UInt8(ascii: ":"), (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(u[0] & 0xDF) { return "a drive path" }
        return nil
    }
}

public indirect enum ShardIndexError: Error, Equatable, CustomStringConvertible {
    case fileMissing(path: String)
    case invalidJSON(String)
    case notAnObject
    case invalidMetadata(reason: String)
    case weightMapMissing
    case invalidWeightMap(reason: String)
    case invalidShardName(tensor: String, shard: String, reason: String)
    case shardMissing(shard: String, path: String)
    case inFile(path: String, ShardIndexError)

    public var description: String {
        let p = "shard index: "
        switch self {
        case .fileMissing(let path): return "shard index missing: \(path)"
        case .invalidJSON(let r): return p + r
        case .notAnObject: return p + "not a JSON object"
        case .invalidMetadata(let r): return p + "metadata: \(r)"
        case .weightMapMissing: return p + "no \"weight_map\""
        case .invalidWeightMap(let r): return p + "weight_map: \(r)"
        case .invalidShardName(let t, let s, let r): return p + "tensor \"\(displayEscaped(t))\" maps to shard \"\(displayEscaped(s))\": \(r)"
        case .shardMissing(let s, let path): return p + "shard \"\(s)\" not found at \(path)"
        case .inFile(let path, let e): return "\(path): \(e.description)"
        }
    }

    public var underlying: ShardIndexError {
        if case .inFile(_, let e) = self { return e.underlying }
        return self
    }
}

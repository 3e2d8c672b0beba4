import CECore
import CEFormats
import Foundation

/// SplitMix64: a seeded generator whose sequence is fixed by the seed on every platform.
public struct SeededRNG: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    public mutating func floats(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in Float.random(in: -scale..<scale, using: &self) }
    }
}

/// max |a − b|; a NaN on either side is an infinite difference (Swift's max would drop it), as are lengths that differ.
public func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { m, p in
        let d = abs(p.0 - p.1)
        return d.isNaN ? .infinity : max(m, d)
    }
}

/// Whether every |a − b| ≤ atol + rtol·|b|; false for a NaN anywhere (the comparison is false) or lengths that differ.
public func allClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float = 0) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= atol + rtol * abs($1) }
}

/// Builds safetensors bytes by hand, including deliberately broken ones, for tests.
public struct SafetensorsBuilder {
    public struct Item {
        public var name: String, dtype: String, shape: [Int], data: [UInt8]
        public var offsets: (Int, Int)?
    }
    public var items: [Item] = []
    public var metadata: [(String, String)] = []

    public init() {}

    public mutating func add(_ name: String, floats: [Float], shape: [Int]) {
        var bytes = [UInt8]()
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        items.append(Item(name: name, dtype: "F32", shape: shape, data: bytes, offsets: nil))
    }

    public mutating func addRaw(_ name: String, dtype: String, shape: [Int], data: [UInt8], offsets: (Int, Int)? = nil) {
        items.append(Item(name: name, dtype: dtype, shape: shape, data: data, offsets: offsets))
    }

    /// The header JSON text as the builder would write it.
    public func headerJSON() -> String {
        var parts: [String] = []
        if !metadata.isEmpty {
            parts.append("\"__metadata__\":{" + metadata.map { JSONWriter.quote($0.0) + ":" + JSONWriter.quote($0.1) }.joined(separator: ",") + "}")
        }
        var at = 0
        for it in items {
            let (b, e) = it.offsets ?? (at, at + it.data.count)
            at += it.data.count
            parts.append(JSONWriter.quote(it.name) + ":{\"dtype\":\"\(it.dtype)\",\"shape\":[\(it.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(b),\(e)]}")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// File bytes: 8-byte length, header padded with spaces to a multiple of 8, data.
    public func bytes(header: String? = nil, declaredLength: UInt64? = nil) -> [UInt8] {
        var h = Array((header ?? headerJSON()).utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var out = [UInt8]()
        withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        out += h
        for it in items { out += it.data }
        return out
    }
}

/// A fresh temporary directory, removed by the caller (or at process exit by the OS).
public func makeTemporaryDirectory(_ prefix: String = "cetool-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The repository root, found from a test file's #filePath.
public func repositoryRoot(from filePath: String = #filePath) -> URL {
    var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        url.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}

/// Every regular file under `url` (or `url` itself) with its bytes, by relative path; nil when nothing is there.
public func treeSnapshot(_ url: URL) throws -> [String: Data]? {
    let fm = FileManager.default
    var isDir: Foundation.ObjCBool = false
    guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { return nil }
    guard isDir.boolValue else { return ["": try Data(contentsOf: url)] }
    var out: [String: Data] = [:]
    for case let rel as String in fm.enumerator(atPath: url.path)! {
        let f = url.appendingPathComponent(rel)
        var d: Foundation.ObjCBool = false
        if fm.fileExists(atPath: f.path, isDirectory: &d), !d.boolValue { out[rel] = try Data(contentsOf: f) }
    }
    return out
}

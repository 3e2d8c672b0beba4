import CECore
import CEImport
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The files written into a staged folder, each recorded (path, bytes, sha256) as it is written: the one place the
/// file list of an artifact or a save-pretrained folder, its manifest and its summary come from.
public struct RecordedFiles {
    public let staged: StagedOutput
    /// In the order written; `sorted` gives the manifest's order.
    public private(set) var entries: [ArtifactFormat.ManifestEntry] = []

    public init(_ staged: StagedOutput) { self.staged = staged }

    /// Entries sorted by path bytes, as manifests and cards list them.
    public var sorted: [ArtifactFormat.ManifestEntry] { entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) } }

    public func contains(_ path: String) -> Bool { entries.contains { $0.path == path } }

    /// Writes `name` through `body` (which writes the bytes and returns nothing); records its size and digest.
    @discardableResult
    public mutating func add(_ name: String, writing body: (FileWriter) throws -> Void) throws -> ArtifactFormat.ManifestEntry {
        let w = try staged.file(name)
        try body(w)
        let size = w.offset
        let entry = ArtifactFormat.ManifestEntry(path: name, size: size, sha256: try w.finish())
        entries.append(entry)
        return entry
    }

    @discardableResult
    public mutating func add(_ name: String, _ bytes: [UInt8]) throws -> ArtifactFormat.ManifestEntry {
        try add(name) { try $0.write(bytes) }
    }

    /// Copies `name` from `directory` byte for byte when it is there; returns its record, or nil when it is absent.
    @discardableResult
    public mutating func copyIfPresent(_ name: String, from directory: URL) throws -> ArtifactFormat.ManifestEntry? {
        let src = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: src.path) else { return nil }
        let m = try MappedFile(path: src.path)
        return try add(name) { try $0.write(m.bytes) }
    }

    /// Writes `cetool.json` listing every file recorded so far (not itself).
    public func writeManifest(precision: String) throws {
        let w = try staged.file(ArtifactFormat.manifestFile)
        try w.write(ArtifactFormat.manifest(precision: precision, files: sorted))
        try w.finish()
    }
}

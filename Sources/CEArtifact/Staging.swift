#if canImport(Glibc)
import Glibc
#endif
import CECore
import CSystem
import Foundation

public enum StagingError: Error, Equatable, CustomStringConvertible {
    case targetExists(path: String)
    case parentMissing(path: String)
    case invalidRelativePath(String)
    case fileSystem(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .targetExists(let p): return "\(p) already exists; pass --force to replace it"
        case .parentMissing(let p): return "the folder \(p) does not exist"
        case .invalidRelativePath(let p): return "\"\(p)\" is not a plain relative path inside the output"
        case .fileSystem(let op, let p, let e): return "\(op) \(p): \(String(cString: strerror(e)))"
        }
    }
}

/// All-or-nothing output (ARCHITECTURE rule 9): everything is written into a hidden staging folder
/// beside the target, fsynced, then renamed into place in one step. A crash at any point leaves the
/// old target (or none) and at most a stale staging folder, which the next run for the same target
/// removes. Replacing an existing target needs `force` and swaps the two atomically
/// (renameat2 RENAME_EXCHANGE) before the old one is deleted.
public final class StagedOutput {
    public enum Kind { case directory, file }

    public let target: URL
    public let kind: Kind
    public let force: Bool
    /// The staging path: a folder for `.directory`, a file for `.file`.
    public let staging: URL
    private var committed = false

    /// Prefix of staging and retired paths beside `target`: `.<name>.cetool-`.
    static func marker(_ target: URL) -> String { "." + target.lastPathComponent + ".cetool-" }

    public init(target: URL, kind: Kind, force: Bool) throws {
        self.target = target.standardizedFileURL
        self.kind = kind
        self.force = force
        let parent = self.target.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue else {
            throw StagingError.parentMissing(path: parent.path)
        }
        if !force, Self.exists(self.target.path) { throw StagingError.targetExists(path: self.target.path) }
        Self.removeStale(beside: self.target)
        let name = Self.marker(self.target) + "staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        staging = parent.appendingPathComponent(name)
        if kind == .directory {
            guard mkdir(staging.path, 0o755) == 0 else { throw StagingError.fileSystem(operation: "create", path: staging.path, errno: errno) }
        }
    }

    deinit { if !committed { abandon() } }

    /// A new file at `relative` inside the staged folder (folders created as needed). `relative` must
    /// be a plain relative path: no empty, `.` or `..` components, not absolute.
    public func file(_ relative: String, mode: mode_t = 0o644) throws -> FileWriter {
        precondition(kind == .directory, "file(_:) is for staged folders; use writer() for a staged file")
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              !relative.utf8.contains(0) else {
            throw StagingError.invalidRelativePath(relative)
        }
        var dir = staging
        for p in parts.dropLast() {
            dir = dir.appendingPathComponent(String(p))
            if !Self.exists(dir.path) {
                guard mkdir(dir.path, 0o755) == 0 else { throw StagingError.fileSystem(operation: "create", path: dir.path, errno: errno) }
            }
        }
        return try FileWriter(creating: staging.appendingPathComponent(relative).path, mode: mode,
                              displayPath: target.appendingPathComponent(relative).path)
    }

    /// The writer of a staged single file.
    public func writer(mode: mode_t = 0o644) throws -> FileWriter {
        precondition(kind == .file, "writer() is for a staged file")
        return try FileWriter(creating: staging.path, mode: mode, displayPath: target.path)
    }

    /// Makes the staged output the target. Every file written must have been `finish()`ed.
    public func commit() throws {
        let parent = target.deletingLastPathComponent().path
        if kind == .directory { try Self.syncTree(staging.path) }
        if Self.exists(target.path) {
            guard force else { throw StagingError.targetExists(path: target.path) }
            // Swap in one step; the old target ends up at the staging path and is then deleted.
            if csys_rename_exchange(staging.path, target.path) != 0 {
                // Without RENAME_EXCHANGE: move the old one aside first (a short window without target).
                let retired = target.deletingLastPathComponent().appendingPathComponent(Self.marker(target) + "retired-\(getpid())")
                guard rename(target.path, retired.path) == 0 else { throw StagingError.fileSystem(operation: "move aside", path: target.path, errno: errno) }
                guard rename(staging.path, target.path) == 0 else {
                    let e = errno
                    _ = rename(retired.path, target.path)
                    throw StagingError.fileSystem(operation: "rename into", path: target.path, errno: e)
                }
                try FileWriter.syncDirectory(parent)
                committed = true
                try? FileManager.default.removeItem(atPath: retired.path)
                return
            }
            try FileWriter.syncDirectory(parent)
            committed = true
            try? FileManager.default.removeItem(atPath: staging.path)
            return
        }
        if csys_rename_noreplace(staging.path, target.path) != 0 {
            let e = errno
            if e == EEXIST { throw StagingError.targetExists(path: target.path) }
            guard e == ENOSYS || e == EINVAL, rename(staging.path, target.path) == 0 else {
                throw StagingError.fileSystem(operation: "rename into", path: target.path, errno: e == ENOSYS || e == EINVAL ? errno : e)
            }
        }
        try FileWriter.syncDirectory(parent)
        committed = true
    }

    /// Removes the staged output (on error paths; also done on deinit when not committed).
    public func abandon() {
        try? FileManager.default.removeItem(atPath: staging.path)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Removes staging/retired leftovers of `target` whose process is gone.
    static func removeStale(beside target: URL) {
        let parent = target.deletingLastPathComponent()
        let prefix = marker(target)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for n in names where n.hasPrefix(prefix) {
            let rest = n.dropFirst(prefix.count).split(separator: "-")
            guard rest.count >= 2, let pid = Int32(rest[1]) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(atPath: parent.appendingPathComponent(n).path)
            }
        }
    }

    /// fsync of every folder in a tree (files are synced by FileWriter.finish()).
    static func syncTree(_ path: String) throws {
        if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
            for n in names.sorted() {
                let p = path + "/" + n
                var st = stat()
                if lstat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { try syncTree(p) }
            }
        }
        try FileWriter.syncDirectory(path)
    }
}

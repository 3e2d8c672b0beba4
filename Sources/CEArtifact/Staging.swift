#if canImport(Glibc)
import Glibc
#endif
import CECore
import CPosix
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum StagingError: Error, Equatable, CustomStringConvertible {
    case targetExists(path: String)
    case parentMissing(path: String)
    case invalidRelativePath(String)
    case fileSystem(operation: String, path: String, errno: Int32)
    /// The target is, or contains, a folder the command must not replace (`reason` says which).
    case protectedTarget(path: String, reason: String)
    /// The target exists, and nothing in it says cetool wrote it (OwnedOutput).
    case notWrittenByCetool(path: String)
    /// A file output whose target is a folder, or the reverse.
    case wrongKind(path: String, expected: String)

    public var description: String {
        switch self {
        case .targetExists(let p): return "\(p) already exists; pass --force to replace it"
        case .protectedTarget(let p, let why): return "refusing to replace \(p): it \(why); nothing was changed"
        case .notWrittenByCetool(let p):
            return "refusing to replace \(p): cetool did not write it (it holds no cetool.json and no model card cetool wrote); "
                + "nothing was changed. Choose another output, or pass --replace \(p) to replace this folder anyway"
        case .wrongKind(let p, let kind): return "refusing to replace \(p): it is not a \(kind); nothing was changed"
        case .parentMissing(let p): return "the folder \(p) does not exist"
        case .invalidRelativePath(let p): return "\"\(p)\" is not a plain relative path inside the output"
        case .fileSystem(let op, let p, let e): return "\(op) \(p): \(String(cString: strerror(e)))"
        }
    }
}

/// What a staged output may replace. An existing target is replaced only with `force`, and never when it is
/// the current folder or contains it, is one of `protected` (the sources the command reads) or contains one, or
/// is the wrong kind (a folder for a file output, a file or link for a folder output); a folder cetool did not
/// write (OwnedOutput) only with `foreign` too.
public struct ReplacePolicy: Sendable {
    public var force: Bool
    public var protected: [URL]
    /// The user named this target explicitly as one to replace although cetool did not write it (`--replace`).
    public var foreign: Bool

    public init(force: Bool, protecting protected: [URL] = [], foreign: Bool = false) {
        self.force = force
        self.protected = protected
        self.foreign = foreign
    }
}

/// Recognises a folder cetool wrote: an artifact (cetool.json with format `cetool-artifact`) or a
/// save-pretrained folder (README.md whose YAML front matter tags it `cetool`).
public enum OwnedOutput {
    public static func isOwned(folder path: String) -> Bool {
        if let m = try? MappedFile(path: path + "/cetool.json"), m.count <= 1 << 24,
           let j = try? JSONParser.parse(Array(m.bytes)), j["format"]?.stringValue == "cetool-artifact" {
            return true
        }
        guard let card = try? MappedFile(path: path + "/README.md") else { return false }
        let head = String(decoding: card.bytes.prefix(4096), as: UTF8.self)
        guard head.hasPrefix("---\n") else { return false }
        let frontMatter = head.dropFirst(4).components(separatedBy: "\n---\n").first ?? ""
        return frontMatter.split(separator: "\n").contains("- cetool")
    }
}

/// Canonical absolute path (symbolic links and `..` resolved), or nil when the path does not exist.
func resolvedPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// Whether `outer` is `inner` or one of its ancestors (both resolved).
func contains(_ outer: String, _ inner: String) -> Bool {
    outer == inner || outer == "/" || inner.hasPrefix(outer + "/")
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
    public let policy: ReplacePolicy
    public var force: Bool { policy.force }
    /// The staging path: a folder for `.directory`, a file for `.file`.
    public let staging: URL
    private var committed = false

    /// Prefix of staging and retired paths beside `target`: `.<name>.cetool-`.
    static func marker(_ target: URL) -> String { "." + target.lastPathComponent + ".cetool-" }

    public convenience init(target: URL, kind: Kind, force: Bool) throws {
        try self.init(target: target, kind: kind, policy: ReplacePolicy(force: force))
    }

    public init(target: URL, kind: Kind, policy: ReplacePolicy) throws {
        self.target = target.standardizedFileURL
        self.kind = kind
        self.policy = policy
        let parent = self.target.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue else {
            throw StagingError.parentMissing(path: parent.path)
        }
        if Self.exists(self.target.path) { try Self.checkReplaceable(self.target, kind: kind, policy: policy) }
        Self.removeStale(beside: self.target)
        let name = Self.marker(self.target) + "staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        staging = parent.appendingPathComponent(name)
        InFlight.shared.insert(staging.path)
        if kind == .directory {
            guard mkdir(staging.path, 0o755) == 0 else {
                InFlight.shared.remove(staging.path)
                throw StagingError.fileSystem(operation: "create", path: staging.path, errno: errno)
            }
        }
    }

    deinit {
        if !committed { abandon() }
        InFlight.shared.remove(staging.path)
    }

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
            try Self.checkReplaceable(target, kind: kind, policy: policy)
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
                InFlight.shared.remove(staging.path)
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

    /// Throws unless `policy` lets the existing `target` be replaced (see ReplacePolicy).
    static func checkReplaceable(_ target: URL, kind: Kind, policy: ReplacePolicy) throws {
        let path = target.path
        guard policy.force else { throw StagingError.targetExists(path: path) }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let type = st.st_mode & S_IFMT
        switch kind {
        case .file:
            guard type != S_IFDIR else { throw StagingError.wrongKind(path: path, expected: "file") }
        case .directory:
            guard type == S_IFDIR else { throw StagingError.wrongKind(path: path, expected: "folder") }
        }
        guard let resolved = resolvedPath(path) else { return }
        if let cwd = resolvedPath(FileManager.default.currentDirectoryPath), contains(resolved, cwd) {
            throw StagingError.protectedTarget(path: path, reason: resolved == cwd ? "is the current folder" : "contains the current folder")
        }
        for source in policy.protected {
            guard let s = resolvedPath(source.path), contains(resolved, s) else { continue }
            throw StagingError.protectedTarget(path: path, reason: resolved == s ? "is the source \(source.path)" : "contains the source \(source.path)")
        }
        if kind == .directory, !policy.foreign, !OwnedOutput.isOwned(folder: path) {
            throw StagingError.notWrittenByCetool(path: path)
        }
    }

    /// Removes the staged output (on error paths; also done on deinit when not committed).
    public func abandon() {
        try? FileManager.default.removeItem(atPath: staging.path)
        InFlight.shared.remove(staging.path)
    }

    /// On SIGINT, SIGTERM or SIGHUP, removes every staging path of this process still in flight, then dies of the
    /// signal as it would have (exit status 128 + signal). The handler runs on a dispatch queue, not in signal
    /// context, so it may call into the file system. Call once, before staging.
    public static func removeStagingOnSignals() {
        InFlight.shared.installHandlers()
    }

    /// A signal arrived and its handler is removing the staging paths; the process dies of that signal next.
    /// A command that fails meanwhile (its staging folder vanished) should wait for that rather than exit itself.
    public static var isInterrupted: Bool { InFlight.shared.isInterrupted }

    /// Staging paths of this process not yet committed or abandoned.
    final class InFlight: @unchecked Sendable {
        static let shared = InFlight()
        private let lock = PosixLock()
        private var paths: Set<String> = []
        private var sources: [DispatchSourceSignal] = []
        private var interrupted = false

        var isInterrupted: Bool { lock.lock(); defer { lock.unlock() }; return interrupted }

        func insert(_ p: String) { lock.lock(); paths.insert(p); lock.unlock() }
        func remove(_ p: String) { lock.lock(); paths.remove(p); lock.unlock() }

        func installHandlers() {
            lock.lock()
            defer { lock.unlock() }
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler { [self] in
                    lock.lock()
                    interrupted = true
                    for p in paths { try? FileManager.default.removeItem(atPath: p) }
                    paths.removeAll()
                    lock.unlock()
                    signal(sig, SIG_DFL)
                    kill(getpid(), sig)   // process-directed: dispatch threads block signals
                }
                s.resume()
                sources.append(s)
            }
        }
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

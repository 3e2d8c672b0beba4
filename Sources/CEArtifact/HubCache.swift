#if canImport(Glibc)
import Glibc
#endif
import CECore
import CEFormats
import CEImport
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum HubCacheError: Error, Equatable, CustomStringConvertible {
    case invalidRevision(String)
    case revisionExists(revision: String, commit: String, attempted: String)
    case blobMismatch(path: String)
    /// `push` of a cetool artifact without `allowArtifact`: no HuggingFace library reads one.
    case artifactNotLoadable(path: String, precision: String)
    /// `ORG/NAME` has no `models--ORG--NAME` folder in `hub`.
    case repoNotCached(repoID: String, hub: String)
    /// Neither `refs/<revision>` nor `snapshots/<revision>` exists in `repoFolder`; `cached` lists the refs there.
    case revisionNotCached(repoID: String, revision: String, repoFolder: String, cached: [String])
    /// `refs/<revision>` names `commit`, whose snapshot folder is absent.
    case snapshotMissing(repoID: String, revision: String, commit: String, repoFolder: String)
    /// A ref file whose content is not a usable snapshot name.
    case invalidRef(path: String)

    public var description: String {
        switch self {
        case .invalidRevision(let r): return "\"\(r)\" is not a usable revision name (letters, digits, '.', '_', '-', '/'; not a commit hash)"
        case .revisionExists(let r, let c, let a):
            return "revision \(r) already exists (commit \(c)); a revision is never overwritten — push \(a) under another --revision"
        case .blobMismatch(let p): return "\(p) exists with a different size; the hub folder is damaged"
        case .artifactNotLoadable(let p, let precision):
            let forST = precision == "int8"
                ? "int8 has no HuggingFace form; for them, push `cetool save-pretrained SOURCE --dtype fp16 --output DIR` (or the fp32 SOURCE itself) instead"
                : "for them, push the HuggingFace folder `cetool save-pretrained \(p) --output DIR` writes"
            return "\(p) is a cetool artifact (\(precision)), which sentence-transformers and transformers cannot load: \(forST). "
                + "To share this artifact with cetool only (cetool loads ORG/NAME from the cache), pass --cetool-only"
        case .repoNotCached(let id, let hub):
            return "\(id) is neither a file or folder here nor in the HuggingFace cache: no \(hub)/models--\(id.replacingOccurrences(of: "/", with: "--")) "
                + "(the cache is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; cetool reads it offline and downloads nothing)"
        case .revisionNotCached(let id, let r, let folder, let cached):
            return "revision \(r) of \(id) is not in the cache: no refs/\(r) and no snapshots/\(r) in \(folder)"
                + (cached.isEmpty ? "" : " (cached refs: \(cached.joined(separator: ", ")))")
        case .snapshotMissing(let id, let r, let c, let folder):
            return "\(id)@\(r) is commit \(c), but \(folder)/snapshots/\(c) is missing: the cache is incomplete"
        case .invalidRef(let p): return "\(p) does not hold a commit id; the hub folder is damaged"
        }
    }
}

/// `push` to a local folder laid out as the HuggingFace hub cache (huggingface_hub 0.14+ / 2.x), so that
/// `HF_HUB_OFFLINE=1 HF_HUB_CACHE=<hub>` loads the repository by id (formats/package.md, "Push"):
///
///     <hub>/models--ORG--NAME/blobs/<etag>                       file contents, one per distinct content
///     <hub>/models--ORG--NAME/snapshots/<commit>/<path>          -> ../../blobs/<etag> (relative symlink)
///     <hub>/models--ORG--NAME/refs/<revision>                    the commit id, no newline
///
/// The etag is what the hub reports: the sha256 for files stored with git LFS (the hub's default LFS
/// patterns, e.g. *.safetensors, *.bin, *.onnx, and anything over 10 MiB), the git blob id (SHA-1 of
/// "blob <size>\0" + content) for the others. No git commit exists, so the commit id is a
/// deterministic stand-in: the SHA-1 of "cetool-push 1\n" followed by "<etag> <path>\n" per file in
/// path order — the same folder always gets the same id. Blobs and the snapshot are written staged and
/// renamed; the ref last, so a reader never sees a ref to an incomplete snapshot. An existing
/// revision is never overwritten (pushing the same content again is a no-op).
public enum HubCache {
    /// The hub's default LFS patterns (.gitattributes of a new repository), by file-name suffix.
    static let lfsSuffixes = [
        ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel", ".model", ".msgpack", ".npy",
        ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth", ".rar", ".safetensors", ".tar", ".tflite",
        ".tgz", ".wasm", ".xz", ".zip", ".zst",
    ]
    /// Files above this size go to LFS whatever their name.
    static let lfsThreshold = 10 << 20

    public struct File: Sendable, Equatable {
        public var path: String
        public var size: Int
        public var etag: String
        public var lfs: Bool
    }

    public enum Outcome: Sendable, Equatable {
        case pushed(commit: String)
        /// The revision already pointed at the same content.
        case unchanged(commit: String)
    }

    public struct Result: Sendable {
        public var repoFolder: URL
        public var snapshot: URL
        public var revision: String
        public var outcome: Outcome
        public var files: [File]
    }

    static func isLFS(_ path: String, size: Int) -> Bool {
        size > lfsThreshold || lfsSuffixes.contains { path.hasSuffix($0) } || path.contains(".tar.") || path.contains("tfevents")
    }

    /// Etags of every file of `directory`, in path order.
    public static func files(of directory: URL) throws -> [File] {
        try ModelPackage.listFiles(directory).map { p in
            let m = try MappedFile(path: directory.path + "/" + p)
            let lfs = isLFS(p, size: m.count)
            return File(path: p, size: m.count, etag: lfs ? SHA256.hex(m.bytes) : SHA1.gitBlobID(m.bytes), lfs: lfs)
        }
    }

    public static func commitID(_ files: [File]) -> String {
        var s = "cetool-push 1\n"
        for f in files { s += "\(f.etag) \(f.path)\n" }
        return SHA1.hex(Array(s.utf8))
    }

    /// `models--ORG--NAME`.
    public static func repoFolderName(_ repoID: String) throws -> String {
        "models--" + (try ModelPackage.rootName(repoID))
    }

    static func checkRevision(_ r: String) throws {
        let isCommit = r.utf8.count == 40 && r.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard !isCommit, ModelPackage.isSafeRelativePath(r), r.utf8.count <= 255,
              r.utf8.allSatisfy({ c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D || c == 0x2F })
        else { throw HubCacheError.invalidRevision(r) }
    }

    static func mkdirs(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return }
        try mkdirs(PathText.parent(path))
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw StagingError.fileSystem(operation: "create", path: path, errno: errno) }
    }

    /// The precision a cetool artifact records (`cetool.json` `precision`), nil for any other folder: one with the
    /// artifact's weights file or a manifest of format `cetool-artifact`.
    static func artifactPrecision(_ directory: URL) -> String? {
        let manifest = try? JSONFile.loadIfPresent(path: directory.appendingPathComponent(ArtifactFormat.manifestFile).path)
        let isManifest = manifest?["format"]?.stringValue == "cetool-artifact"
        guard isManifest || ArtifactFormat.isArtifact(directory) else { return nil }
        return manifest?["precision"]?.stringValue ?? "unknown precision"
    }

    /// `allowArtifact`: push a cetool artifact, which only cetool loads; without it an artifact is refused
    /// (`HubCacheError.artifactNotLoadable`), as the hub layout promises a HuggingFace loader a model it can read.
    public static func push(_ directory: URL, hub: URL, repoID: String, revision: String = "main", allowArtifact: Bool = false) throws -> Result {
        try checkRevision(revision)
        if !allowArtifact, let precision = artifactPrecision(directory) {
            throw HubCacheError.artifactNotLoadable(path: directory.path, precision: precision)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: hub.path, isDirectory: &isDir), isDir.boolValue else {
            throw StagingError.parentMissing(path: hub.path)
        }
        let files = try files(of: directory)
        guard !files.isEmpty else { throw PackageError.unsupportedInput(path: directory.path, reason: "the folder is empty") }
        let commit = commitID(files)
        let repo = hub.appendingPathComponent(try repoFolderName(repoID))
        let ref = repo.appendingPathComponent("refs").appendingPathComponent(revision)
        let snapshot = repo.appendingPathComponent("snapshots").appendingPathComponent(commit)

        if let existing = try? String(contentsOf: ref, encoding: .utf8) {
            guard existing == commit, StagedOutput.exists(snapshot.path) else {
                throw HubCacheError.revisionExists(revision: revision, commit: existing, attempted: commit)
            }
            return Result(repoFolder: repo, snapshot: snapshot, revision: revision, outcome: .unchanged(commit: commit), files: files)
        }
        for sub in ["blobs", "snapshots", "refs"] { try mkdirs(repo.appendingPathComponent(sub).path) }
        try mkdirs(ref.deletingLastPathComponent().path)

        // Blobs: content-addressed, so an existing one is the same content (its size is checked).
        let blobs = repo.appendingPathComponent("blobs")
        for f in files {
            let blob = blobs.appendingPathComponent(f.etag)
            var st = stat()
            if lstat(blob.path, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) == f.size else { throw HubCacheError.blobMismatch(path: blob.path) }
                continue
            }
            let m = try MappedFile(path: directory.path + "/" + f.path)
            let staged = try StagedOutput(target: blob, kind: .file, force: false)
            let w = try staged.writer()
            try w.write(m.bytes)
            try w.finish()
            do { try staged.commit() } catch StagingError.targetExists { continue }
        }

        // Snapshot: relative symlinks to the blobs; the commit id names its content, so an existing one is complete.
        if !StagedOutput.exists(snapshot.path) {
            let staged = try StagedOutput(target: snapshot, kind: .directory, force: false)
            for f in files {
                let depth = f.path.split(separator: "/").count - 1
                let linkTarget = String(repeating: "../", count: depth + 2) + "blobs/" + f.etag
                let linkPath = staged.staging.path + "/" + f.path
                try mkdirs(PathText.parent(linkPath))
                guard symlink(linkTarget, linkPath) == 0 else { throw StagingError.fileSystem(operation: "link", path: linkPath, errno: errno) }
            }
            do { try staged.commit() } catch StagingError.targetExists {}
        }

        // The ref last.
        let staged = try StagedOutput(target: ref, kind: .file, force: false)
        let w = try staged.writer()
        try w.write(commit)
        try w.finish()
        try staged.commit()
        return Result(repoFolder: repo, snapshot: snapshot, revision: revision, outcome: .pushed(commit: commit), files: files)
    }
}

/// Loading by hub id, offline, as huggingface_hub's `try_to_load_from_cache` finds a snapshot (constants.py,
/// file_download.py): the cache folder from the environment, `models--ORG--NAME` in it, `refs/<revision>` holding
/// the commit (else the revision taken as a commit), and `snapshots/<commit>/` the model folder.
extension HubCache {
    /// `ORG/NAME` or `ORG/NAME@REVISION` (revision default `main`).
    public struct Reference: Sendable, Equatable {
        public var repoID: String
        public var revision: String

        public init(repoID: String, revision: String = "main") {
            self.repoID = repoID
            self.revision = revision
        }

        /// Nil unless `text` has the shape of a hub id: two names of `[A-Za-z0-9._-]` joined by one `/` (no `--`,
        /// none starting with `.` or `-`, at most 96 bytes each), then optionally `@` and a revision.
        public init?(_ text: String) {
            let at = text.firstIndex(of: "@")
            let id = String(text[..<(at ?? text.endIndex)])
            guard id.split(separator: "/", omittingEmptySubsequences: false).count == 2, (try? ModelPackage.rootName(id)) != nil else { return nil }
            repoID = id
            revision = at.map { String(text[text.index(after: $0)...]) } ?? "main"
        }
    }

    /// huggingface_hub's cache folder: HF_HUB_CACHE, else the older HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, where
    /// HF_HOME defaults to $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. A leading `~` is the home folder.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        func expand(_ p: String) -> String { p == "~" || p.hasPrefix("~/") ? home + p.dropFirst() : p }
        if let hub = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"] {
            return URL(fileURLWithPath: expand(hub))
        }
        let hfHome = environment["HF_HOME"] ?? ((environment["XDG_CACHE_HOME"] ?? home + "/.cache") + "/huggingface")
        return URL(fileURLWithPath: expand(hfHome)).appendingPathComponent("hub")
    }

    /// The snapshot folder of `reference` in `hub`. Throws `HubCacheError` naming the folder searched.
    public static func resolve(_ reference: Reference, hub: URL = cacheDirectory()) throws -> URL {
        let revision = reference.revision
        guard ModelPackage.isSafeRelativePath(revision) else { throw HubCacheError.invalidRevision(revision) }
        let repo = hub.appendingPathComponent(try repoFolderName(reference.repoID))
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: repo.path, isDirectory: &isDir), isDir.boolValue else {
            throw HubCacheError.repoNotCached(repoID: reference.repoID, hub: hub.path)
        }
        let ref = repo.appendingPathComponent("refs").appendingPathComponent(revision)
        let commit: String
        if FileManager.default.fileExists(atPath: ref.path, isDirectory: &isDir), !isDir.boolValue {
            // huggingface_hub reads the ref verbatim; the commit must name one folder under snapshots/.
            guard let text = try? String(contentsOf: ref, encoding: .utf8), (1...255).contains(text.utf8.count),
                  ModelPackage.isSafeRelativePath(text), !text.contains("/") else { throw HubCacheError.invalidRef(path: ref.path) }
            commit = text
        } else {
            guard !revision.contains("/"), StagedOutput.exists(repo.appendingPathComponent("snapshots/" + revision).path) else {
                throw HubCacheError.revisionNotCached(repoID: reference.repoID, revision: revision, repoFolder: repo.path,
                                                      cached: cachedRefs(repo.appendingPathComponent("refs")))
            }
            commit = revision
        }
        let snapshot = repo.appendingPathComponent("snapshots").appendingPathComponent(commit)
        guard FileManager.default.fileExists(atPath: snapshot.path, isDirectory: &isDir), isDir.boolValue else {
            throw HubCacheError.snapshotMissing(repoID: reference.repoID, revision: revision, commit: commit, repoFolder: repo.path)
        }
        return snapshot
    }

    /// Ref names under `refs` (branches may hold `/`), sorted.
    static func cachedRefs(_ refs: URL) -> [String] {
        guard let paths = try? FileManager.default.subpathsOfDirectory(atPath: refs.path) else { return [] }
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: refs.path + "/" + p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }
}

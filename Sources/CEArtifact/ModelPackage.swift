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

public enum PackageError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case unsupportedInput(path: String, reason: String)
    case checksumMismatch(expected: String, actual: String)
    case invalidChecksumFile(path: String)
    case checksumRequired(path: String)
    case noManifest(reason: String)
    case invalidManifest(reason: String)
    case refusedEntry(path: String, reason: String)
    case fileMismatch(path: String, reason: String)
    case missingFiles([String])
    case limitExceeded(what: String, limit: Int)
    case installedDiffers(path: String, reason: String)
    /// `--replace` named a folder other than the one the package installs into.
    case replaceNamesAnotherFolder(named: String, target: String)

    public var description: String {
        switch self {
        case .invalidName(let n): return "\"\(n)\" is not a package name (ORG/NAME or NAME of letters, digits, '.', '_' and '-')"
        case .unsupportedInput(let p, let r): return "cannot package \(p): \(r)"
        case .checksumMismatch(let e, let a): return "archive sha256 is \(a), expected \(e): the archive was changed or damaged"
        case .invalidChecksumFile(let p): return "\(p) is not a sha256sum line (64 hex digits, two spaces, the file name)"
        case .checksumRequired(let p): return "no checksum for \(p): put its .sha256 beside it or pass --sha256"
        case .noManifest(let r): return "not a cetool package: \(r)"
        case .invalidManifest(let r): return "package manifest: \(r)"
        case .refusedEntry(let p, let r): return "refused archive entry \"\(p)\": \(r)"
        case .fileMismatch(let p, let r): return "\(p): \(r)"
        case .missingFiles(let f): return "the archive lacks \(f.count) file(s) its manifest lists: \(f.prefix(5).joined(separator: ", "))"
        case .limitExceeded(let w, let l): return "\(w) exceeds the limit of \(l)"
        case .installedDiffers(let p, let r): return "\(p) is installed with different content (\(r)); pass --force to replace it"
        case .replaceNamesAnotherFolder(let n, let t): return "--replace names \(n), but this package installs into \(t)"
        }
    }
}

/// A model folder as one deterministic tar.gz with a manifest, and its checked installation
/// (formats/package.md).
///
/// Archive: first the manifest `<root>.cetool-package.json`, then every file of the folder as
/// `<root>/<path>`, sorted by path bytes. `<root>` is the package name with `/` written `--`
/// (`acme/minilm` -> `acme--minilm`), as the HuggingFace cache names repositories.
public enum ModelPackage {
    public static let formatVersion = 1
    public static let manifestSuffix = ".cetool-package.json"

    /// One packaged file: the same record an artifact manifest lists.
    public typealias File = ArtifactFormat.ManifestEntry

    public struct Manifest: Sendable, Equatable {
        public var name: String
        public var root: String
        /// `huggingface`, `cetool-artifact` or `folder`.
        public var layout: String
        public var files: [File]
        public var totalSize: Int { files.reduce(0) { $0 + $1.size } }

        /// The manifest text: keys in a fixed order, files sorted by path bytes, two-space indent.
        public func json() -> String {
            JSONWriter.pretty(.object([
                ("format", .string("cetool-package")), ("format_version", .int(Int64(formatVersion))),
                ("name", .string(name)), ("root", .string(root)), ("layout", .string(layout)),
                ("total_size", .int(Int64(totalSize))), ("file_count", .int(Int64(files.count))),
                ("files", .array(files.map(\.json))),
            ])) + "\n"
        }
    }

    /// Checks a package name: `NAME` or `ORG/NAME`, each part 1–96 of [A-Za-z0-9._-], not starting with
    /// '.' or '-', no "--" (the separator of the root name), not ending in ".". Returns the root folder name.
    public static func rootName(_ name: String) throws -> String {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { throw PackageError.invalidName(name) }
        for p in parts {
            guard (1...96).contains(p.utf8.count), !p.hasPrefix("."), !p.hasPrefix("-"), !p.hasSuffix("."), !p.contains("--"),
                  p.utf8.allSatisfy({ c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D })
            else { throw PackageError.invalidName(name) }
        }
        return parts.joined(separator: "--")
    }

    /// A relative path as packages hold them: components of printable UTF-8, no empty, `.` or `..`
    /// component, no backslash, not absolute, at most 4096 bytes.
    static func isSafeRelativePath(_ p: String) -> Bool {
        guard !p.isEmpty, p.utf8.count <= 4096, !p.hasPrefix("/"), !p.contains("\\") else { return false }
        guard p.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { return false }
        return p.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    static func layout(of directory: URL) -> String {
        if ArtifactFormat.isArtifact(directory) { return "cetool-artifact" }
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("config.json").path) { return "huggingface" }
        return "folder"
    }

    /// Every regular file under `directory` (relative paths, sorted by bytes). Links and special files are refused.
    static func listFiles(_ directory: URL) throws -> [String] {
        var out: [String] = []
        func walk(_ rel: String) throws {
            let abs = rel.isEmpty ? directory.path : directory.path + "/" + rel
            let names = try FileManager.default.contentsOfDirectory(atPath: abs)
            for n in names {
                let r = rel.isEmpty ? n : rel + "/" + n
                var st = stat()
                guard lstat(directory.path + "/" + r, &st) == 0 else {
                    throw PackageError.unsupportedInput(path: r, reason: String(cString: strerror(errno)))
                }
                switch st.st_mode & S_IFMT {
                case S_IFREG: out.append(r)
                case S_IFDIR: try walk(r)
                case S_IFLNK: throw PackageError.unsupportedInput(path: r, reason: "symbolic links are not packaged")
                default: throw PackageError.unsupportedInput(path: r, reason: "not a regular file or folder")
                }
            }
        }
        try walk("")
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public struct Created: Sendable {
        public var archive: URL
        public var checksumFile: URL
        public var sha256: String
        public var size: Int
        public var manifest: Manifest
    }

    /// Packs `directory` into `<output>/<root>.tar.gz` and writes `<root>.tar.gz.sha256` beside it
    /// (sha256sum format). Each file is staged and renamed; the archive first, then its checksum.
    public static func create(from directory: URL, name: String, output: URL, force: Bool) throws -> Created {
        let root = try rootName(name)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw PackageError.unsupportedInput(path: directory.path, reason: "not a folder")
        }
        let paths = try listFiles(directory)
        guard !paths.isEmpty else { throw PackageError.unsupportedInput(path: directory.path, reason: "the folder is empty") }
        var files: [File] = []
        var mapped: [MappedFile] = []
        for p in paths {
            guard isSafeRelativePath(p) else { throw PackageError.unsupportedInput(path: p, reason: "the name cannot be packaged") }
            let m = try MappedFile(path: directory.path + "/" + p)
            mapped.append(m)
            files.append(File(path: p, size: m.count, sha256: SHA256.hex(of: m)))
        }
        let manifest = Manifest(name: name, root: root, layout: layout(of: directory), files: files)

        // A missing `output` is created with its missing parents, as every command creates the folder it writes into.
        do {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        } catch {
            throw StagingError.fileSystem(operation: "create", path: output.path, errno: posixCode(error) ?? EIO)
        }
        let archiveURL = output.appendingPathComponent(root + ".tar.gz")
        let sumURL = output.appendingPathComponent(root + ".tar.gz.sha256")
        let staged = try StagedOutput(target: archiveURL, kind: .file, force: force)
        let sumStaged = try StagedOutput(target: sumURL, kind: .file, force: force)
        let w = try staged.writer()
        let tar = try TarGzWriter(writer: w)
        try tar.add(path: root + manifestSuffix, bytes: Array(manifest.json().utf8))
        for (f, m) in zip(files, mapped) { try tar.add(path: root + "/" + f.path, data: m.bytes) }
        try tar.close()
        let size = w.offset
        let digest = try w.finish()

        let sw = try sumStaged.writer()
        try sw.write("\(digest)  \(root).tar.gz\n")
        try sw.finish()
        try staged.commit()
        try sumStaged.commit()
        return Created(archive: archiveURL, checksumFile: sumURL, sha256: digest, size: size, manifest: manifest)
    }

    // MARK: - Install

    public struct Limits: Sendable {
        /// Sum of the unpacked file sizes.
        public var maxTotalSize: Int = 32 << 30
        /// Files in one package.
        public var maxFiles: Int = 10_000
        /// The manifest itself.
        public var maxManifestSize: Int = 8 << 20
        public init() {}
    }

    public enum InstallResult: Sendable, Equatable {
        case installed(URL)
        case replaced(URL)
        /// The same content was already there; nothing was written.
        case unchanged(URL)
    }

    /// The sha256 a `.sha256` file states (the first field of its first line).
    public static func readChecksumFile(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096,
              let text = String(data: data, encoding: .utf8),
              let first = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).first,
              isSHA256(String(first)) else {
            throw PackageError.invalidChecksumFile(path: path)
        }
        return String(first).lowercased()
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
    }

    /// Parses and checks a manifest: format, version, name/root agreement, every path safe and unique,
    /// sizes within the limits, sha256 well-formed.
    public static func parseManifest(_ bytes: UnsafeRawBufferPointer, root: String, limits: Limits = Limits()) throws -> Manifest {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes, maxDepth: 8) } catch { throw PackageError.invalidManifest(reason: "not JSON (\(error))") }
        guard json["format"]?.stringValue == "cetool-package" else { throw PackageError.invalidManifest(reason: "format is not \"cetool-package\"") }
        guard json["format_version"]?.intValue == formatVersion else {
            throw PackageError.invalidManifest(reason: "format_version is not \(formatVersion)")
        }
        guard let name = json["name"]?.stringValue, let r = json["root"]?.stringValue, let layout = json["layout"]?.stringValue,
              let list = json["files"]?.arrayValue else {
            throw PackageError.invalidManifest(reason: "name, root, layout or files missing")
        }
        guard (try? rootName(name)) == r, r == root else { throw PackageError.invalidManifest(reason: "root \"\(r)\" does not match the name \"\(name)\" and the archive") }
        guard list.count <= limits.maxFiles else { throw PackageError.limitExceeded(what: "the file count \(list.count)", limit: limits.maxFiles) }
        var files: [File] = []
        var seen = Set<String>()
        var total = 0
        for f in list {
            guard let p = f["path"]?.stringValue, let size = f["size"]?.intValue, let digest = f["sha256"]?.stringValue else {
                throw PackageError.invalidManifest(reason: "a file entry lacks path, size or sha256")
            }
            guard isSafeRelativePath(p) else { throw PackageError.refusedEntry(path: p, reason: "the manifest lists an unsafe path") }
            guard seen.insert(p).inserted else { throw PackageError.invalidManifest(reason: "\(p) is listed twice") }
            guard size >= 0, isSHA256(digest) else { throw PackageError.invalidManifest(reason: "\(p): bad size or sha256") }
            let (t, overflow) = total.addingReportingOverflow(size)
            guard !overflow, t <= limits.maxTotalSize else { throw PackageError.limitExceeded(what: "the unpacked size", limit: limits.maxTotalSize) }
            total = t
            files.append(File(path: p, size: size, sha256: digest.lowercased()))
        }
        // A file may not also be a folder of another (a/b and a/b/c).
        for p in seen {
            var prefix = Substring(p)
            while let slash = prefix.lastIndex(of: "/") {
                prefix = prefix[..<slash]
                if seen.contains(String(prefix)) { throw PackageError.invalidManifest(reason: "\(prefix) is both a file and a folder") }
            }
        }
        return Manifest(name: name, root: r, layout: layout, files: files)
    }

    /// The archive's first entry, the manifest, read and checked (install steps 2–3): a regular file
    /// `<root>.cetool-package.json` at the top, a valid root name, at most `limits.maxManifestSize` bytes.
    static func readManifest(_ reader: TarGzReader, limits: Limits) throws -> Manifest {
        guard let first = try reader.next() else { throw PackageError.noManifest(reason: "the archive is empty") }
        guard first.fileType == TarType.regular, !first.isHardLink, first.path.hasSuffix(manifestSuffix), !first.path.contains("/") else {
            throw PackageError.noManifest(reason: "the first entry is \"\(first.path)\", not <root>\(manifestSuffix)")
        }
        let root = String(first.path.dropLast(manifestSuffix.count))
        guard (try? rootName(root.replacingOccurrences(of: "--", with: "/"))) == root else {
            throw PackageError.noManifest(reason: "\"\(root)\" is not a package root name")
        }
        guard let msize = first.size, msize <= limits.maxManifestSize else {
            throw PackageError.limitExceeded(what: "the manifest size", limit: limits.maxManifestSize)
        }
        var manifestBytes: [UInt8] = []
        try reader.readData { chunk in
            guard manifestBytes.count + chunk.count <= limits.maxManifestSize else {
                throw PackageError.limitExceeded(what: "the manifest size", limit: limits.maxManifestSize)
            }
            manifestBytes.append(contentsOf: chunk)
        }
        return try manifestBytes.withUnsafeBytes { try parseManifest($0, root: root, limits: limits) }
    }

    /// Whether the folder at `path` holds exactly the manifest's files with their sizes and sha256.
    static func differences(_ path: String, _ manifest: Manifest) -> String? {
        guard let present = try? listFiles(URL(fileURLWithPath: path)) else { return "cannot be listed" }
        let listed = Set(manifest.files.map(\.path))
        if let extra = present.first(where: { !listed.contains($0) }) { return "\(extra) is not in the package" }
        for f in manifest.files {
            guard let m = try? MappedFile(path: path + "/" + f.path) else { return "\(f.path) is missing" }
            guard m.count == f.size, SHA256.hex(of: m) == f.sha256 else { return "\(f.path) differs" }
        }
        return nil
    }

    /// Verifies and unpacks a package into `<into>/<root>`, all or nothing (formats/package.md, "Install"):
    /// the archive's sha256 against `expectedSHA256` (else the `.sha256` beside it, else refused when
    /// `requireChecksum`); the manifest (first entry) before anything lands; then every entry — only
    /// regular files the manifest lists, with its size (checked on the header, before reading) and
    /// sha256, no links, devices, fifos or setuid/setgid/sticky bits, no absolute or `..` paths —
    /// into a staging folder that is renamed into place only when every listed file arrived intact. An existing
    /// install is replaced as ReplacePolicy says: with `force` when cetool wrote it, or when `replacing` names it.
    public static func install(archive: URL, into: URL, expectedSHA256: String? = nil, requireChecksum: Bool = false,
                               force: Bool = false, replacing: URL? = nil,
                               limits: Limits = Limits()) throws -> InstallResult {
        let data = try MappedFile(path: archive.path)
        var expected = expectedSHA256?.lowercased()
        if let e = expected, !isSHA256(e) { throw PackageError.invalidChecksumFile(path: "--sha256 \(e)") }
        let besidePath = archive.path + ".sha256"
        if expected == nil, FileManager.default.fileExists(atPath: besidePath) { expected = try readChecksumFile(besidePath) }
        if let expected {
            let actual = SHA256.hex(data.bytes)
            guard actual == expected else { throw PackageError.checksumMismatch(expected: expected, actual: actual) }
        } else if requireChecksum {
            throw PackageError.checksumRequired(path: archive.path)
        }

        let reader = try TarGzReader(data.bytes)
        let manifest = try readManifest(reader, limits: limits)
        let root = manifest.root
        let byPath = Dictionary(uniqueKeysWithValues: manifest.files.map { ($0.path, $0) })

        let target = into.appendingPathComponent(root, isDirectory: true)
        if let replacing, replacing.standardizedFileURL.path != target.standardizedFileURL.path {
            throw PackageError.replaceNamesAnotherFolder(named: replacing.standardizedFileURL.path, target: target.standardizedFileURL.path)
        }
        let existed = StagedOutput.exists(target.path)
        if existed {
            if let why = differences(target.path, manifest) {
                guard force || replacing != nil else { throw PackageError.installedDiffers(path: target.path, reason: why) }
            } else {
                // Same content already installed: read nothing more, write nothing.
                return .unchanged(target)
            }
        }

        // A missing `into` is created, and removed again when the install fails.
        var createdInto = false
        if !StagedOutput.exists(into.path) {
            guard mkdir(into.path, 0o755) == 0 else { throw StagingError.fileSystem(operation: "create", path: into.path, errno: errno) }
            createdInto = true
        }
        do {
            return try unpack(reader, manifest: manifest, byPath: byPath, target: target, existed: existed,
                              policy: ReplacePolicy(force: force || replacing != nil, foreign: replacing != nil), limits: limits)
        } catch {
            if createdInto { rmdir(into.path) }
            throw error
        }
    }

    /// Install step 5 for one entry, before any of its data is read: links, special files, setuid/setgid/
    /// sticky bits, sparse entries and paths outside `<root>/` or unsafe are refused; a folder entry must be
    /// a folder of listed files (nil is returned); a file must be listed, seen once (`seen` records it) and
    /// its header size must be the manifest's. Returns the listed file the entry is.
    static func admit(_ e: TarGzReader.Entry, manifest: Manifest, byPath: [String: File], seen: inout Set<String>) throws -> File? {
        let path = e.path
        func refuse(_ why: String) -> PackageError { .refusedEntry(path: path, reason: why) }
        if e.isHardLink { throw refuse("hard links are not allowed") }
        if e.symlink != nil || e.fileType == TarType.symlink { throw refuse("symbolic links are not allowed") }
        if e.permissions & 0o7000 != 0 { throw refuse("setuid, setgid or sticky bits are not allowed") }
        if e.isSparse { throw refuse("sparse files are not allowed") }
        let prefix = manifest.root + "/"
        guard path.hasPrefix(prefix) || path == prefix else { throw refuse("outside the package folder \(prefix)") }
        var rel = String(path.dropFirst(prefix.count))
        if e.fileType == TarType.directory {
            if rel.hasSuffix("/") { rel.removeLast() }
            guard rel.isEmpty || isSafeRelativePath(rel) else { throw refuse("absolute or '..' path") }
            guard rel.isEmpty || manifest.files.contains(where: { $0.path.hasPrefix(rel + "/") }) else {
                throw refuse("a folder the manifest does not have")
            }
            return nil
        }
        guard e.fileType == TarType.regular else { throw refuse("devices, fifos and other special files are not allowed") }
        guard isSafeRelativePath(rel) else { throw refuse("absolute or '..' path") }
        guard let f = byPath[rel] else { throw refuse("not listed in the manifest") }
        guard seen.insert(rel).inserted else { throw refuse("appears twice") }
        guard let size = e.size, size == f.size else {
            throw refuse("the header says \(e.size.map(String.init) ?? "no") bytes, the manifest \(f.size)")
        }
        return f
    }

    /// Streams the current entry's data (of the admitted file `f`, entry `path`) into `sink`, never more
    /// than its size; checks its length and sha256 against the manifest.
    static func receive(_ reader: TarGzReader, _ f: File, path: String, into sink: (UnsafeRawBufferPointer) throws -> Void,
                        digest: () throws -> String) throws {
        var got = 0
        try reader.readData { chunk in
            got += chunk.count
            guard got <= f.size else { throw PackageError.refusedEntry(path: path, reason: "more data than its size") }
            try sink(chunk)
        }
        guard got == f.size else { throw PackageError.fileMismatch(path: f.path, reason: "\(got) bytes, the manifest says \(f.size)") }
        guard try digest() == f.sha256 else { throw PackageError.fileMismatch(path: f.path, reason: "sha256 differs from the manifest") }
    }

    static func unpack(_ reader: TarGzReader, manifest: Manifest, byPath: [String: File], target: URL, existed: Bool,
                       policy: ReplacePolicy, limits: Limits) throws -> InstallResult {
        let staged = try StagedOutput(target: target, kind: .directory, policy: policy)
        var seen = Set<String>()
        var written = 0
        while let e = try reader.next() {
            guard let f = try admit(e, manifest: manifest, byPath: byPath, seen: &seen) else { continue }
            let (t, overflow) = written.addingReportingOverflow(f.size)
            guard !overflow, t <= limits.maxTotalSize else { throw PackageError.limitExceeded(what: "the unpacked size", limit: limits.maxTotalSize) }
            let w = try staged.file(f.path)
            try receive(reader, f, path: e.path, into: { try w.write($0) }, digest: { try w.finish() })
            written = t
        }
        let missing = manifest.files.map(\.path).filter { !seen.contains($0) }
        guard missing.isEmpty else { throw PackageError.missingFiles(missing) }
        try staged.commit()
        return existed ? .replaced(target) : .installed(target)
    }

    /// Checks a package held in memory as `install` does, writing nothing: the manifest, then every entry
    /// (`admit`), every file's size and sha256, and that every listed file is there. The archive's own
    /// sha256 is the caller's to check. Returns the manifest.
    public static func verify(archive bytes: UnsafeRawBufferPointer, limits: Limits = Limits()) throws -> Manifest {
        let reader = try TarGzReader(bytes)
        let manifest = try readManifest(reader, limits: limits)
        let byPath = Dictionary(uniqueKeysWithValues: manifest.files.map { ($0.path, $0) })
        var seen = Set<String>()
        while let e = try reader.next() {
            guard let f = try admit(e, manifest: manifest, byPath: byPath, seen: &seen) else { continue }
            var h = SHA256()
            try receive(reader, f, path: e.path, into: { h.update($0) }, digest: { SHA256.hexString(h.finalize()) })
        }
        let missing = manifest.files.map(\.path).filter { !seen.contains($0) }
        guard missing.isEmpty else { throw PackageError.missingFiles(missing) }
        return manifest
    }
}

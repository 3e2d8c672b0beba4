#if canImport(Glibc)
import Glibc
#endif
import CArchive
import CECore
import CEFormats
import CETestSupport
import Foundation
import XCTest
@testable import CEArtifact

/// package / install / push: determinism, the install refusals (with nothing written), the hub layout.
final class PackageTests: XCTestCase {
    static let tinyL1 = repositoryRoot().appendingPathComponent("golden/models/tiny-bert-l1")
    var dir: URL!
    var into: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-pkg-\(UUID().uuidString)")
        into = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: into, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func bytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }
    func listing(_ url: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }

    /// A small model folder with a subfolder.
    func makeModel(_ name: String = "model") throws -> URL {
        let m = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: Self.tinyL1, to: m)
        try FileManager.default.createDirectory(at: m.appendingPathComponent("extra"), withIntermediateDirectories: true)
        try Data("note\n".utf8).write(to: m.appendingPathComponent("extra/notes.txt"))
        return m
    }

    func pack(_ model: URL, to sub: String, name: String = "acme/tiny-rerank") throws -> ModelPackage.Created {
        let out = dir.appendingPathComponent(sub)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        return try ModelPackage.create(from: model, name: name, output: out, force: false)
    }

    /// Writes a tar.gz with the given entries (manifest included by the caller) through the package writer.
    func writeArchive(_ entries: [(TarGzWriter.Header, [UInt8])], to name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        let w = try FileWriter(creating: url.path)
        let tar = try TarGzWriter(writer: w)
        for (h, data) in entries { try data.withUnsafeBytes { try tar.add(h, data: $0) } }
        try tar.close()
        try w.finish()
        return url
    }

    /// One ustar header block for `path` claiming `size` bytes, followed by `data` padded to 512.
    func ustar(_ path: String, size: Int, data: [UInt8]) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, at o: Int) { for (i, c) in s.utf8.enumerated() { h[o + i] = c } }
        func octal(_ v: Int, width: Int) -> String { let s = String(v, radix: 8); return String(repeating: "0", count: width - 1 - s.count) + s }
        put(path, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(0, width: 12), at: 136)
        put("0", at: 156)
        put("ustar", at: 257)
        put("00", at: 263)
        put("        ", at: 148)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + "\0", at: 148)
        return h + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// `stream` gzipped as it is (libarchive's raw format), so hand-made tar bytes can be tested.
    func gzipRaw(_ stream: [UInt8], to name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        let a = archive_write_new()!
        defer { archive_write_free(a) }
        archive_write_set_format_raw(a)
        archive_write_add_filter_gzip(a)
        XCTAssertEqual(archive_write_open_filename(a, url.path), ARCHIVE_OK)
        let e = archive_entry_new()!
        defer { archive_entry_free(e) }
        archive_entry_set_pathname(e, "raw")
        archive_entry_set_filetype(e, TarType.regular)
        archive_entry_set_size(e, Int64(stream.count))
        XCTAssertEqual(archive_write_header(a, e), ARCHIVE_OK)
        _ = stream.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
        XCTAssertEqual(archive_write_close(a), ARCHIVE_OK)
        return url
    }

    func manifestEntry(_ files: [(String, [UInt8])], root: String = "acme--tiny-rerank", listed: [(String, Int, String)]? = nil) -> (TarGzWriter.Header, [UInt8]) {
        let list = listed ?? files.map { ($0.0, $0.1.count, SHA256.hex($0.1)) }
        let m = ModelPackage.Manifest(name: root.replacingOccurrences(of: "--", with: "/"), root: root, layout: "folder",
                                      files: list.map { ModelPackage.File(path: $0.0, size: $0.1, sha256: $0.2) })
        let data = Array(m.json().utf8)
        return (TarGzWriter.Header(path: root + ModelPackage.manifestSuffix, size: data.count), data)
    }

    /// Install refuses `archive` and writes nothing. Unless `onlyInstall` (a refusal about the checksum file or
    /// the installed folder), `ModelPackage.verify` refuses the same bytes with the same error.
    func assertRefused(_ archive: URL, force: Bool = false, limits: ModelPackage.Limits = .init(), onlyInstall: Bool = false,
                       _ check: (Error) -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try listing(into)
        var installError: Error?
        XCTAssertThrowsError(try ModelPackage.install(archive: archive, into: into, force: force, limits: limits), file: file, line: line) {
            installError = $0
            check($0)
        }
        XCTAssertEqual(try listing(into), before, "nothing written, no staging left", file: file, line: line)
        guard !onlyInstall, let installError else { return }
        let m = try MappedFile(path: archive.path)
        XCTAssertThrowsError(try ModelPackage.verify(archive: m.bytes, limits: limits), file: file, line: line) {
            XCTAssertEqual("\($0)", "\(installError)", "verify and install refuse alike", file: file, line: line)
        }
    }

    // MARK: - package

    func testPackageIsByteIdenticalForTheSameInput() throws {
        let model = try makeModel()
        let a = try pack(model, to: "a")
        // Different mtimes, modes and a later clock must not change the bytes.
        sleep(1)
        let b = try pack(try makeModel("model-copy"), to: "b")
        chmod(model.appendingPathComponent("config.json").path, 0o600)
        let c = try pack(model, to: "c")
        XCTAssertEqual(try bytes(a.archive), try bytes(b.archive))
        XCTAssertEqual(try bytes(a.archive), try bytes(c.archive))
        XCTAssertEqual(a.sha256, SHA256.hex(try bytes(a.archive)))
        XCTAssertEqual(try String(contentsOf: a.checksumFile, encoding: .utf8), "\(a.sha256)  acme--tiny-rerank.tar.gz\n")
        XCTAssertEqual(a.archive.lastPathComponent, "acme--tiny-rerank.tar.gz")
        // gzip header: no timestamp (bytes 4..<8 zero), no file name flag.
        let head = Array(try bytes(a.archive).prefix(10))
        XCTAssertEqual(Array(head[0..<3]), [0x1F, 0x8B, 8])
        XCTAssertEqual(head[3] & 0x08, 0, "no FNAME")
        XCTAssertEqual(Array(head[4..<8]), [0, 0, 0, 0], "no MTIME")

        // Entries: the manifest first, then the files sorted, with fixed headers.
        let data = try MappedFile(path: a.archive.path)
        let r = try TarGzReader(data.bytes)
        var paths: [String] = []
        while let e = try r.next() {
            paths.append(e.path)
            XCTAssertEqual(e.fileType, TarType.regular)
            XCTAssertEqual(e.permissions, 0o644)
        }
        XCTAssertEqual(paths.first, "acme--tiny-rerank.cetool-package.json")
        XCTAssertEqual(Array(paths.dropFirst()), a.manifest.files.map { "acme--tiny-rerank/" + $0.path })
        XCTAssertEqual(a.manifest.files.map(\.path), a.manifest.files.map(\.path).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertTrue(a.manifest.files.contains { $0.path == "extra/notes.txt" })

        // Existing outputs need force.
        XCTAssertThrowsError(try ModelPackage.create(from: model, name: "acme/tiny-rerank", output: dir.appendingPathComponent("c"), force: false))
        XCTAssertNoThrow(try ModelPackage.create(from: model, name: "acme/tiny-rerank", output: dir.appendingPathComponent("c"), force: true))
    }

    func testPackageRefusesLinksAndBadNames() throws {
        let model = try makeModel()
        symlink("config.json", model.appendingPathComponent("link.json").path)
        XCTAssertThrowsError(try pack(model, to: "x")) {
            XCTAssertEqual($0 as? PackageError, .unsupportedInput(path: "link.json", reason: "symbolic links are not packaged"))
        }
        for bad in ["", "a/b/c", "../x", "a--b", ".hidden", "a b", "acme/"] {
            XCTAssertThrowsError(try ModelPackage.rootName(bad), bad)
        }
        XCTAssertEqual(try ModelPackage.rootName("acme/minilm-rerank-int8"), "acme--minilm-rerank-int8")
    }

    // MARK: - install

    func testInstallRoundTripNoOpAndForce() throws {
        let model = try makeModel()
        let p = try pack(model, to: "dist")
        let installed = into.appendingPathComponent("acme--tiny-rerank", isDirectory: true)
        XCTAssertEqual(try ModelPackage.install(archive: p.archive, into: into), .installed(installed))
        for f in p.manifest.files {
            XCTAssertEqual(try bytes(installed.appendingPathComponent(f.path)), try bytes(model.appendingPathComponent(f.path)), f.path)
        }
        XCTAssertEqual(try listing(into), ["acme--tiny-rerank"])
        XCTAssertEqual(try ModelPackage.install(archive: p.archive, into: into), .unchanged(installed))

        // A different package of the same name needs --force.
        try Data("changed\n".utf8).write(to: model.appendingPathComponent("extra/notes.txt"))
        let q = try ModelPackage.create(from: model, name: "acme/tiny-rerank", output: dir.appendingPathComponent("dist"), force: true)
        try assertRefused(q.archive, onlyInstall: true) { XCTAssertEqual(($0 as? PackageError).map { if case .installedDiffers = $0 { return true } else { return false } }, true, "\($0)") }
        // The installed folder is a plain HuggingFace folder, with nothing that marks it as cetool's (ReplacePolicy):
        // --force alone leaves it; naming it replaces it.
        XCTAssertThrowsError(try ModelPackage.install(archive: q.archive, into: into, force: true)) {
            XCTAssertEqual($0 as? StagingError, .notWrittenByCetool(path: installed.standardizedFileURL.path))
        }
        XCTAssertEqual(try String(contentsOf: installed.appendingPathComponent("extra/notes.txt"), encoding: .utf8), "note\n")
        XCTAssertEqual(try ModelPackage.install(archive: q.archive, into: into, replacing: installed), .replaced(installed))
        XCTAssertEqual(try String(contentsOf: installed.appendingPathComponent("extra/notes.txt"), encoding: .utf8), "changed\n")
        XCTAssertEqual(try listing(into), ["acme--tiny-rerank"])
    }

    func testVerifyChecksAPackageInMemoryAndWritesNothing() throws {
        let p = try pack(try makeModel(), to: "dist")
        let m = try MappedFile(path: p.archive.path)
        XCTAssertEqual(try ModelPackage.verify(archive: m.bytes), p.manifest)
        XCTAssertEqual(try listing(into), [])
        // The reader takes an uncompressed tar as well (libarchive's "none" filter is always on).
        let tar = dir.appendingPathComponent("plain.tar")
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/sh")
        gz.arguments = ["-c", "gzip -dc '\(p.archive.path)' > '\(tar.path)'"]
        try gz.run()
        gz.waitUntilExit()
        XCTAssertEqual(gz.terminationStatus, 0)
        let plain = try MappedFile(path: tar.path)
        XCTAssertEqual(try ModelPackage.verify(archive: plain.bytes), p.manifest)
        // The manifest alone, as the archive's first entry holds it.
        let text = Array(p.manifest.json().utf8)
        XCTAssertEqual(try text.withUnsafeBytes { try ModelPackage.parseManifest($0, root: "acme--tiny-rerank") }, p.manifest)
        XCTAssertThrowsError(try text.withUnsafeBytes { try ModelPackage.parseManifest($0, root: "acme--other") }) {
            guard case .invalidManifest = $0 as? PackageError else { return XCTFail("\($0)") }
        }
    }

    func testInstallRefusesAOneByteChange() throws {
        let p = try pack(try makeModel(), to: "dist")
        var data = try bytes(p.archive)
        data[data.count / 2] ^= 0x01
        try Data(data).write(to: p.archive)
        // With the .sha256 beside it: the archive checksum.
        try assertRefused(p.archive, onlyInstall: true) {
            guard case .checksumMismatch = $0 as? PackageError else { return XCTFail("\($0)") }
        }
        // Without it: gzip's CRC or the file's sha256 catches it.
        try FileManager.default.removeItem(at: p.checksumFile)
        try assertRefused(p.archive) { XCTAssertTrue($0 is PackageError || $0 is ArchiveError, "\($0)") }
        XCTAssertThrowsError(try ModelPackage.install(archive: p.archive, into: into, requireChecksum: true)) {
            guard case .checksumRequired = $0 as? PackageError else { return XCTFail("\($0)") }
        }
    }

    func testInstallRefusesAChangedFileWhoseArchiveIsOtherwiseValid() throws {
        let a: [UInt8] = Array("alpha\n".utf8), b: [UInt8] = Array("beta\n".utf8)
        let tampered: [UInt8] = Array("BETA\n".utf8)
        let url = try writeArchive([manifestEntry([("a.txt", a), ("b.txt", b)]),
                                    (.init(path: "acme--tiny-rerank/a.txt", size: a.count), a),
                                    (.init(path: "acme--tiny-rerank/b.txt", size: tampered.count), tampered)], to: "t.tar.gz")
        try assertRefused(url) { XCTAssertEqual($0 as? PackageError, .fileMismatch(path: "b.txt", reason: "sha256 differs from the manifest")) }
    }

    func testInstallRefusesAnExtraFile() throws {
        let a: [UInt8] = Array("alpha\n".utf8)
        let url = try writeArchive([manifestEntry([("a.txt", a)]),
                                    (.init(path: "acme--tiny-rerank/a.txt", size: a.count), a),
                                    (.init(path: "acme--tiny-rerank/evil.sh", size: 3), Array("hi\n".utf8))], to: "t.tar.gz")
        try assertRefused(url) { XCTAssertEqual($0 as? PackageError, .refusedEntry(path: "acme--tiny-rerank/evil.sh", reason: "not listed in the manifest")) }
    }

    func testInstallRefusesAMissingFile() throws {
        let a: [UInt8] = Array("alpha\n".utf8)
        let url = try writeArchive([manifestEntry([("a.txt", a), ("b.txt", a)]), (.init(path: "acme--tiny-rerank/a.txt", size: a.count), a)], to: "t.tar.gz")
        try assertRefused(url) { XCTAssertEqual($0 as? PackageError, .missingFiles(["b.txt"])) }
    }

    func testInstallRefusesDotDotAndAbsolutePaths() throws {
        let a: [UInt8] = Array("alpha\n".utf8)
        for path in ["acme--tiny-rerank/../escaped.txt", "../escaped.txt", "/tmp/escaped.txt", "acme--tiny-rerank//a.txt", "acme--tiny-rerank/./a.txt"] {
            let url = try writeArchive([manifestEntry([("a.txt", a)]), (.init(path: path, size: a.count), a)], to: "t-\(UUID().uuidString).tar.gz")
            try assertRefused(url) { XCTAssertTrue($0 is PackageError, "\(path): \($0)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("escaped.txt").path))
        }
        // A manifest that lists an unsafe path is refused before any entry is read.
        let url = try writeArchive([manifestEntry([], listed: [("../escaped.txt", a.count, SHA256.hex(a))]),
                                    (.init(path: "acme--tiny-rerank/../escaped.txt", size: a.count), a)], to: "m.tar.gz")
        try assertRefused(url) { XCTAssertEqual($0 as? PackageError, .refusedEntry(path: "../escaped.txt", reason: "the manifest lists an unsafe path")) }
    }

    func testInstallRefusesLinksDevicesAndSetuid() throws {
        let a: [UInt8] = Array("alpha\n".utf8)
        let cases: [(TarGzWriter.Header, String)] = [
            (.init(path: "acme--tiny-rerank/a.txt", size: 0, fileType: TarType.symlink, linkTarget: "/etc/passwd"), "symbolic links are not allowed"),
            (.init(path: "acme--tiny-rerank/a.txt", size: 0, hardLink: "acme--tiny-rerank/b.txt"), "hard links are not allowed"),
            (.init(path: "acme--tiny-rerank/a.txt", size: a.count, permissions: 0o4755), "setuid, setgid or sticky bits are not allowed"),
            (.init(path: "acme--tiny-rerank/a.txt", size: a.count, permissions: 0o2644), "setuid, setgid or sticky bits are not allowed"),
            (.init(path: "acme--tiny-rerank/a.txt", size: 0, fileType: TarType.characterDevice), "devices, fifos and other special files are not allowed"),
            (.init(path: "acme--tiny-rerank/a.txt", size: 0, fileType: TarType.fifo), "devices, fifos and other special files are not allowed"),
        ]
        for (h, reason) in cases {
            let data = h.size > 0 ? a : []
            let url = try writeArchive([manifestEntry([("a.txt", a)]), (h, data)], to: "t-\(UUID().uuidString).tar.gz")
            try assertRefused(url) { XCTAssertEqual($0 as? PackageError, .refusedEntry(path: h.path, reason: reason)) }
        }
    }

    func testInstallRefusesHugeDeclaredSizes() throws {
        let a: [UInt8] = Array("alpha\n".utf8)
        // The manifest declares more than the cap: refused on the manifest.
        var limits = ModelPackage.Limits()
        limits.maxTotalSize = 1 << 20
        let big = try writeArchive([manifestEntry([], listed: [("a.txt", 1 << 40, SHA256.hex(a))]), (.init(path: "acme--tiny-rerank/a.txt", size: a.count), a)],
                                   to: "big.tar.gz")
        try assertRefused(big, limits: limits) { XCTAssertEqual($0 as? PackageError, .limitExceeded(what: "the unpacked size", limit: 1 << 20)) }
        // An entry header that declares more than the manifest says: refused on the header, before its data
        // (a hand-made ustar stream: the header claims 4 GiB, the data is 6 bytes).
        let (mh, md) = manifestEntry([("a.txt", a)])
        let stream = ustar(mh.path, size: md.count, data: md) + ustar("acme--tiny-rerank/a.txt", size: 1 << 32, data: a)
        let lying = try gzipRaw(stream, to: "lying.tar.gz")
        try assertRefused(lying) {
            XCTAssertEqual($0 as? PackageError, .refusedEntry(path: "acme--tiny-rerank/a.txt", reason: "the header says \(1 << 32) bytes, the manifest 6"))
        }
        // Too many files.
        limits = ModelPackage.Limits()
        limits.maxFiles = 1
        let two = try writeArchive([manifestEntry([("a.txt", a), ("b.txt", a)])], to: "two.tar.gz")
        try assertRefused(two, limits: limits) { XCTAssertEqual($0 as? PackageError, .limitExceeded(what: "the file count 2", limit: 1)) }
    }

    func testInstallNeedsTheManifestFirst() throws {
        let a: [UInt8] = Array("alpha\n".utf8)
        let url = try writeArchive([(.init(path: "acme--tiny-rerank/a.txt", size: a.count), a), manifestEntry([("a.txt", a)])], to: "late.tar.gz")
        try assertRefused(url) { guard case .noManifest = $0 as? PackageError else { return XCTFail("\($0)") } }
        let other = try writeArchive([manifestEntry([("a.txt", a)], root: "acme--other")], to: "other.tar.gz")
        try assertRefused(other) { XCTAssertNil($0 as? ArchiveError, "\($0)") }
        let notGzip = dir.appendingPathComponent("plain.tar.gz")
        try Data("not an archive".utf8).write(to: notGzip)
        try assertRefused(notGzip) { XCTAssertTrue($0 is ArchiveError || $0 is PackageError, "\($0)") }
    }

    // MARK: - push

    func testPushWritesTheHubCacheLayout() throws {
        let model = try makeModel()
        let hub = dir.appendingPathComponent("hub")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        let r = try HubCache.push(model, hub: hub, repoID: "acme/tiny-rerank")
        guard case .pushed(let commit) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertEqual(commit.utf8.count, 40)
        let repo = hub.appendingPathComponent("models--acme--tiny-rerank")
        XCTAssertEqual(try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8), commit, "no newline")
        for f in r.files {
            let link = repo.appendingPathComponent("snapshots/\(commit)/\(f.path)")
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: link.path)
            XCTAssertEqual(target, String(repeating: "../", count: f.path.split(separator: "/").count + 1) + "blobs/" + f.etag)
            XCTAssertEqual(try bytes(link), try bytes(model.appendingPathComponent(f.path)), f.path)
        }
        let weights = try XCTUnwrap(r.files.first { $0.path == "model.safetensors" })
        XCTAssertTrue(weights.lfs)
        XCTAssertEqual(weights.etag, SHA256.hex(try bytes(model.appendingPathComponent("model.safetensors"))))
        let config = try XCTUnwrap(r.files.first { $0.path == "config.json" })
        XCTAssertFalse(config.lfs)
        // git hash-object of "hello\n" is ce013625030ba8dba906f756967f9e9ca394464a.
        XCTAssertEqual(Array("hello\n".utf8).withUnsafeBytes { SHA1.gitBlobID($0) }, "ce013625030ba8dba906f756967f9e9ca394464a")
        XCTAssertEqual(config.etag, try bytes(model.appendingPathComponent("config.json")).withUnsafeBytes { SHA1.gitBlobID($0) })

        // The same content again: nothing changes. Different content under the same revision: refused.
        XCTAssertEqual(try HubCache.push(model, hub: hub, repoID: "acme/tiny-rerank").outcome, .unchanged(commit: commit))
        try Data("changed\n".utf8).write(to: model.appendingPathComponent("extra/notes.txt"))
        XCTAssertThrowsError(try HubCache.push(model, hub: hub, repoID: "acme/tiny-rerank")) {
            guard case .revisionExists(let rev, let c, _) = $0 as? HubCacheError else { return XCTFail("\($0)") }
            XCTAssertEqual(rev, "main")
            XCTAssertEqual(c, commit)
        }
        XCTAssertEqual(try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8), commit)
        let v2 = try HubCache.push(model, hub: hub, repoID: "acme/tiny-rerank", revision: "v2")
        guard case .pushed(let commit2) = v2.outcome else { return XCTFail("\(v2.outcome)") }
        XCTAssertNotEqual(commit2, commit)
        XCTAssertEqual(try listing(repo.appendingPathComponent("snapshots")), [commit, commit2].sorted())
        XCTAssertEqual(try listing(repo), ["blobs", "refs", "snapshots"], "no staging left")
        for bad in ["", "../x", "/abs", "a b", String(repeating: "a", count: 40)] {
            XCTAssertThrowsError(try HubCache.push(model, hub: hub, repoID: "acme/tiny-rerank", revision: bad), bad)
        }
    }

    // MARK: - loading by hub id

    func testCacheDirectoryFollowsHuggingFaceHubsOrder() {
        let home = ["HOME": "/home/u"]
        XCTAssertEqual(HubCache.cacheDirectory(environment: home).path, "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(HubCache.cacheDirectory(environment: home.merging(["XDG_CACHE_HOME": "/xdg"]) { $1 }).path, "/xdg/huggingface/hub")
        XCTAssertEqual(HubCache.cacheDirectory(environment: home.merging(["XDG_CACHE_HOME": "/xdg", "HF_HOME": "~/hf"]) { $1 }).path,
                       "/home/u/hf/hub")
        XCTAssertEqual(HubCache.cacheDirectory(environment: home.merging(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"]) { $1 }).path, "/old")
        XCTAssertEqual(HubCache.cacheDirectory(environment: home.merging(["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old",
                                                                          "HF_HUB_CACHE": "/new"]) { $1 }).path, "/new")
    }

    func testReferenceShape() {
        XCTAssertEqual(HubCache.Reference("acme/tiny"), HubCache.Reference(repoID: "acme/tiny", revision: "main"))
        XCTAssertEqual(HubCache.Reference("acme/tiny@v2")?.revision, "v2")
        XCTAssertEqual(HubCache.Reference("acme/tiny@refs/pr/1")?.revision, "refs/pr/1")
        for notAnID in ["tiny", "a/b/c", "./x", "../x", "/abs/x", "a--b/c", ".a/b", "a/b c", "-a/b", "a/"] {
            XCTAssertNil(HubCache.Reference(notAnID), notAnID)
        }
    }

    func testResolveFindsTheSnapshotOfARefOrCommit() throws {
        let model = try makeModel()
        let hub = dir.appendingPathComponent("hub")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        let r = try HubCache.push(model, hub: hub, repoID: "acme/tiny-rerank", revision: "v1")
        guard case .pushed(let commit) = r.outcome else { return XCTFail("\(r.outcome)") }
        let byRef = try HubCache.resolve(XCTUnwrap(HubCache.Reference("acme/tiny-rerank@v1")), hub: hub)
        XCTAssertEqual(byRef.path, r.snapshot.path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: byRef.appendingPathComponent("config.json").path))
        XCTAssertEqual(try HubCache.resolve(XCTUnwrap(HubCache.Reference("acme/tiny-rerank@" + commit)), hub: hub).path, r.snapshot.path)

        XCTAssertThrowsError(try HubCache.resolve(XCTUnwrap(HubCache.Reference("acme/tiny-rerank")), hub: hub)) {
            XCTAssertEqual($0 as? HubCacheError, .revisionNotCached(repoID: "acme/tiny-rerank", revision: "main",
                                                                    repoFolder: r.repoFolder.path, cached: ["v1"]))
        }
        XCTAssertThrowsError(try HubCache.resolve(XCTUnwrap(HubCache.Reference("acme/other")), hub: hub)) {
            XCTAssertEqual($0 as? HubCacheError, .repoNotCached(repoID: "acme/other", hub: hub.path))
        }
        try Data("../../x".utf8).write(to: r.repoFolder.appendingPathComponent("refs/bad"))
        XCTAssertThrowsError(try HubCache.resolve(XCTUnwrap(HubCache.Reference("acme/tiny-rerank@bad")), hub: hub)) {
            guard case .invalidRef = $0 as? HubCacheError else { return XCTFail("\($0)") }
        }
    }

    func testPushRefusesAnArtifactUnlessAllowed() throws {
        let artifact = dir.appendingPathComponent("artifact")
        try FileManager.default.createDirectory(at: artifact, withIntermediateDirectories: true)
        try Data("{\"format\": \"cetool-artifact\", \"format_version\": 1, \"precision\": \"int8\", \"files\": []}\n".utf8)
            .write(to: artifact.appendingPathComponent("cetool.json"))
        let hub = dir.appendingPathComponent("hub")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        XCTAssertThrowsError(try HubCache.push(artifact, hub: hub, repoID: "acme/a")) {
            XCTAssertEqual($0 as? HubCacheError, .artifactNotLoadable(path: artifact.path, precision: "int8"))
        }
        XCTAssertEqual(try listing(hub), [])
        XCTAssertNoThrow(try HubCache.push(artifact, hub: hub, repoID: "acme/a", allowArtifact: true))
    }
}

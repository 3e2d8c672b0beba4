import CECore
import CEFormats
import CEImport
import CETestSupport
import CETokenizers
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The hostile-file corpus (scripts/make_hostile_corpus.py, manifest.json): every case must end in one of
/// its expected outcomes (a typed error named by its case path, or success) within its time bound, and the
/// whole corpus must run in a child process within a peak-memory bound far below the sizes the files declare.
final class HostileCorpusTests: XCTestCase {
    /// Peak RSS growth allowed for one case. The files declare up to 2^64-byte headers, 4 EiB zip entries,
    /// 1 TiB tensor views and endless /dev/zero reads; honouring any of those declarations, or inflating the
    /// 64 MiB DEFLATE bomb, would exceed it.
    static let caseRSSBoundMiB = 32

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    func testManifestCoversTheCorpusFolders() throws {
        let manifest = try HostileManifest.load(Self.directory)
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.directory.appendingPathComponent("Corpus").path)
        // git keeps no empty folders: a case made only of test-time entries (symlinks, FIFOs, sparse
        // files) has none in a clone.
        let madeAtTestTime = Set(manifest.cases.filter {
            !($0.symlinks ?? [:]).isEmpty || !($0.fifo ?? []).isEmpty || !($0.sparse ?? [:]).isEmpty
        }.map(\.name))
        XCTAssertTrue(Set(folders).isSubset(of: Set(manifest.cases.map(\.name))), "corpus folders without a manifest case")
        XCTAssertEqual(Set(manifest.cases.map(\.name)).subtracting(folders).subtracting(madeAtTestTime), [],
                       "manifest cases without their corpus folder")
        XCTAssertGreaterThanOrEqual(manifest.cases.count, 100)
    }

    func testEveryCaseEndsInItsExpectedOutcome() throws {
        let manifest = try HostileManifest.load(Self.directory)
        var checked = 0
        var slowest = (name: "", seconds: 0.0)
        for c in manifest.cases {
            let start = Date()
            let outcome = HostileRunner.run(c, corpus: Self.directory)
            let seconds = Date().timeIntervalSince(start)
            if seconds > slowest.seconds { slowest = (c.name, seconds) }
            checked += 1
            XCTAssertTrue(c.expect.contains(outcome.path), "\(c.name): got \(outcome.path) (\(outcome.message)), expected one of \(c.expect)")
            for s in c.messageExcludes ?? [] {
                XCTAssertFalse(outcome.message.unicodeScalars.contains { String($0) == s } || outcome.message.contains(s),
                               "\(c.name): message shows \(s.debugDescription) raw: \(outcome.message.debugDescription)")
            }
        }
        XCTAssertEqual(checked, manifest.cases.count)
        // Time is reported, never asserted: a case that hangs shows up as a stuck test run instead.
        print("hostile corpus: slowest case \(slowest.name) \(String(format: "%.2f", slowest.seconds)) s")
    }

    /// Every case in one child process, the peak RSS reset before each (Linux /proc/self/clear_refs): a
    /// case's growth is its high-water mark minus the resident size it started from. Bound: `max_rss_mib`,
    /// else `caseRSSBoundMiB`. A control that touches 128 MiB shows the probe sees what it should.
    func testPeakMemoryInAChildProcess() throws {
        let manifest = try HostileManifest.load(Self.directory)
        let lines = try runChild(cases: [Self.controlCase] + manifest.cases.map(\.name))
        XCTAssertEqual(lines.map(\.name), [Self.controlCase] + manifest.cases.map(\.name))
        guard let control = lines.first, lines.count == manifest.cases.count + 1 else { return }
        XCTAssertGreaterThanOrEqual(control.growthKiB, 120 * 1024, "the probe missed a 128 MiB allocation: \(control)")
        let cases = lines.dropFirst()
        let largest = cases.sorted { $0.growthKiB > $1.growthKiB }.prefix(5).map { "\($0.name) \($0.growthKiB) KiB" }
        print("hostile corpus: \(cases.count) cases, median peak-RSS growth \(cases.map(\.growthKiB).sorted()[cases.count / 2]) KiB, "
              + "largest: \(largest.joined(separator: ", ")); control +\(control.growthKiB / 1024) MiB")
        for (c, line) in zip(manifest.cases, cases) {
            let bound = (c.maxRSSMiB ?? Self.caseRSSBoundMiB) * MemoryProbe.sanitizerFactor
            XCTAssertLessThanOrEqual(line.growthKiB, bound * 1024, "\(c.name): peak RSS grew by \(line.growthKiB) KiB, bound \(bound) MiB")
        }
    }

    static let controlCase = "__control_touch_128_mib"

    /// Runs in the child only (CETOOL_HOSTILE_CHILD names the report file): every listed case, with the
    /// resident size before and the peak after, one JSON line per case.
    func testChildReport() throws {
        guard let report = ProcessInfo.processInfo.environment["CETOOL_HOSTILE_CHILD"],
              let list = ProcessInfo.processInfo.environment["CETOOL_HOSTILE_CASES"] else {
            throw XCTSkip("runs only as the child of testPeakMemoryInAChildProcess")
        }
        let manifest = try HostileManifest.load(Self.directory)
        var lines = ""
        for name in list.split(separator: ",").map(String.init) {
            let before = MemoryProbe.resetPeak()
            if name == Self.controlCase {
                let n = 128 << 20
                let p = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 4096)
                for i in stride(from: 0, to: n, by: 4096) { p.storeBytes(of: 1, toByteOffset: i, as: UInt8.self) }
                p.deallocate()
            } else if let c = manifest.cases.first(where: { $0.name == name }) {
                _ = HostileRunner.run(c, corpus: Self.directory)
            } else {
                continue
            }
            let after = MemoryProbe.peakKiB()
            lines += "{\"name\":\"\(name)\",\"before\":\(before),\"after\":\(after)}\n"
        }
        try lines.write(toFile: report, atomically: true, encoding: .utf8)
    }

    struct ChildLine: Decodable {
        var name: String
        var before: Int
        var after: Int
        var growthKiB: Int { after - before }
    }

    func runChild(cases: [String]) throws -> [ChildLine] {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-hostile-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: report) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        p.arguments = ["HostileCorpusTests.HostileCorpusTests/testChildReport"]
        var env = ProcessInfo.processInfo.environment
        env["CETOOL_HOSTILE_CHILD"] = report.path
        env["CETOOL_HOSTILE_CASES"] = cases.joined(separator: ",")
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "child exited with \(p.terminationStatus)")
        let text = try String(contentsOf: report, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ChildLine.self, from: Data($0.utf8)) }
    }
}

/// Resident-set figures of this process from /proc/self/status, in KiB.
enum MemoryProbe {
    /// Resets the peak (VmHWM) to the current resident size by writing 5 to /proc/self/clear_refs and
    /// returns that size. Without clear_refs the peak stays the process's high-water mark, which makes
    /// later growth look smaller, never larger.
    static func resetPeak() -> Int {
        if let fd = Optional(open("/proc/self/clear_refs", O_WRONLY)), fd >= 0 {
            _ = write(fd, "5", 1)
            close(fd)
        }
        return field("VmRSS")
    }

    static func peakKiB() -> Int { field("VmHWM") }

    /// 3 under AddressSanitizer (`make sanitize`), whose redzones and quarantine of freed blocks inflate
    /// resident memory, else 1.
    static let sanitizerFactor = dlsym(nil, "__asan_init") != nil ? 3 : 1

    static func field(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return 0
    }
}

struct HostileManifest: Decodable {
    struct Case: Decodable {
        var name: String
        var kind: String
        var file: String?
        var expect: [String]
        var encode: [EncodeInput]?
        var base: String?
        var symlinks: [String: String]?
        var fifo: [String]?
        var sparse: [String: Int]?
        var remove: [String]?
        var maxRSSMiB: Int?
        var messageExcludes: [String]?

        enum CodingKeys: String, CodingKey {
            case name, kind, file, expect, encode, base, symlinks, fifo, sparse, remove
            case maxRSSMiB = "max_rss_mib", messageExcludes = "message_excludes"
        }
    }

    /// A text, or `{"repeat": s, "count": n, "suffix": t}` for s×n + t.
    enum EncodeInput: Decodable {
        case text(String)
        case repeated(String, Int, String)

        init(from decoder: Decoder) throws {
            if let s = try? decoder.singleValueContainer().decode(String.self) {
                self = .text(s)
                return
            }
            struct R: Decodable { var `repeat`: String; var count: Int; var suffix: String? }
            let r = try R(from: decoder)
            self = .repeated(r.repeat, r.count, r.suffix ?? "")
        }

        var text: String {
            switch self {
            case .text(let s): return s
            case .repeated(let s, let n, let t): return String(repeating: s, count: n) + t
            }
        }
    }

    var version: Int
    var cases: [Case]

    static func load(_ directory: URL) throws -> HostileManifest {
        try JSONDecoder().decode(HostileManifest.self, from: Data(contentsOf: directory.appendingPathComponent("manifest.json")))
    }
}

/// What a case ended in: "ok" or the error's case path, and the message a user would see.
struct HostileOutcome {
    var path: String
    var message: String
}

enum HostileRunner {
    static func run(_ c: HostileManifest.Case, corpus: URL) -> HostileOutcome {
        let folder = corpus.appendingPathComponent("Corpus").appendingPathComponent(c.name)
        do {
            switch c.kind {
            case "safetensors":
                let f = try Safetensors.File(path: folder.appendingPathComponent(c.file!).path)
                for n in f.names { _ = try f.tensor(n) }
            case "torchzip":
                let f = try TorchZip.File(path: folder.appendingPathComponent(c.file!).path)
                for n in f.names { _ = try f.tensor(n) }
            case "config":
                _ = try ModelConfig(json: JSONFile.load(path: folder.appendingPathComponent(c.file!).path))
            case "tokenizer":
                let t = try Tokenizer.load(directory: folder)
                try encodeAll(t, c)
            case "modeldir":
                let dir = try makeTemporaryDirectory("cetool-hostile")
                defer { try? FileManager.default.removeItem(at: dir) }
                try assemble(c, from: folder, into: dir)
                let m = try ModelDirectory.load(dir)
                try encodeAll(m.tokenizer, c)
            default:
                return HostileOutcome(path: "unknown kind \(c.kind)", message: "")
            }
            return HostileOutcome(path: "ok", message: "")
        } catch {
            return HostileOutcome(path: errorPath(error), message: "\(error)")
        }
    }

    static func encodeAll(_ t: Tokenizer, _ c: HostileManifest.Case) throws {
        for input in c.encode ?? [] {
            let text = input.text
            _ = try t.encode(text, maxLength: nil)
            _ = try t.encode(text, text, maxLength: 512)
        }
    }

    /// The model folder of a `modeldir` case: the base folder's files, minus `remove`, plus the case's
    /// files, plus symlinks ("@case/x" points into the case folder, outside the model folder) and FIFOs.
    static func assemble(_ c: HostileManifest.Case, from folder: URL, into dir: URL) throws {
        let fm = FileManager.default
        if let base = c.base {
            let src = repositoryRoot().appendingPathComponent(base)
            for f in try fm.contentsOfDirectory(atPath: src.path) where !(c.remove ?? []).contains(f) {
                try fm.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
        }
        // A case made only of test-time entries (symlinks, FIFOs, sparse files) has no committed folder.
        let committed = fm.fileExists(atPath: folder.path) ? try fm.contentsOfDirectory(atPath: folder.path) : []
        for f in committed where f != "outside.bin" {
            let to = dir.appendingPathComponent(f)
            try? fm.removeItem(at: to)
            try fm.copyItem(at: folder.appendingPathComponent(f), to: to)
        }
        for (name, target) in c.symlinks ?? [:] {
            let to = dir.appendingPathComponent(name)
            try? fm.removeItem(at: to)
            let dest = target.hasPrefix("@case/") ? folder.appendingPathComponent(String(target.dropFirst(6))).path : target
            try fm.createSymbolicLink(atPath: to.path, withDestinationPath: dest)
        }
        for name in c.fifo ?? [] {
            let to = dir.appendingPathComponent(name)
            try? fm.removeItem(at: to)
            guard mkfifo(to.path, 0o600) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        for (name, size) in c.sparse ?? [:] {
            let to = dir.appendingPathComponent(name)
            try? fm.removeItem(at: to)
            guard fm.createFile(atPath: to.path, contents: nil), truncate(to.path, off_t(size)) == 0 else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
    }
}

@_silgen_name("swift_EnumCaseName")
private func _enumCaseName<T>(_ value: T) -> UnsafePointer<CChar>?

/// "Type.case[.case…]" of an error: wrappers that only add a file path (`inFile`) are skipped, and a
/// payload that is itself an error is followed (`TorchZipError.zip(.duplicateName)` -> "TorchZipError.zip.duplicateName").
func errorPath(_ error: Error) -> String {
    func caseName(_ e: some Error) -> String? { _enumCaseName(e).map { String(cString: $0) } }
    func nested(_ e: Error) -> Error? {
        guard let payload = Mirror(reflecting: e).children.first?.value else { return nil }
        if let inner = payload as? Error { return inner }
        return Mirror(reflecting: payload).children.lazy.compactMap { $0.value as? Error }.first
    }
    var parts = [String(describing: type(of: error))]
    var current: Error = error
    while true {
        guard let name = caseName(current) else { break }
        let inner = nested(current)
        if name != "inFile" { parts.append(name) }
        guard let next = inner else { break }
        current = next
    }
    return parts.joined(separator: ".")
}

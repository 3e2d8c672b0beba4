import CETestSupport
import Foundation
import XCTest

/// Runs the built `cetool` binary with arguments and standard input.
struct CLIRunner {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    let root = repositoryRoot()
    var tinyOne: String { root.appendingPathComponent("golden/models/tiny-bert-l1").path }
    var tinyThree: String { root.appendingPathComponent("golden/models/tiny-bert-l3").path }

    /// `.models/<name>` (made by `make models`): a failure under CETOOL_REQUIRE_MODELS=1 (make test, CI), else a skip.
    func realModel(_ name: String) throws -> String {
        let path = root.appendingPathComponent(".models/\(name)").path
        guard FileManager.default.fileExists(atPath: path + "/config.json") else {
            if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("\(path) missing: make models") }
            throw XCTSkip("\(path) missing: make models")
        }
        return path
    }

    /// swift test builds the executable beside the test bundle.
    var binary: URL {
        var dir = Bundle(for: CLITests.self).bundleURL
        while dir.lastPathComponent.hasSuffix(".xctest") || dir.lastPathComponent == "Contents" { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("cetool")
    }

    /// `fileSizeLimit`: the child runs under RLIMIT_FSIZE of that many bytes (prlimit) with SIGXFSZ ignored, so a
    /// write past it fails with EFBIG, as one on a full file system fails with ENOSPC. `environment`: variables set
    /// (a nil value removes one) over this process's environment. `directory`: the child's working folder.
    func run(_ args: [String], stdin: String? = nil, fileSizeLimit: Int? = nil, environment: [String: String?] = [:],
             in directory: URL? = nil) throws -> Result {
        let p = Process()
        if let directory { p.currentDirectoryURL = directory }
        if !environment.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment { env[k] = v }
            p.environment = env
        }
        if let fileSizeLimit {
            // Ignored signals stay ignored across exec; Process itself resets handlers, so the shell sets it.
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "trap '' XFSZ; exec prlimit --fsize=\(fileSizeLimit) \"$0\" \"$@\"", binary.path] + args
        } else {
            p.executableURL = binary
            p.arguments = args
        }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

import CETestSupport
import Foundation
import XCTest

/// All-or-nothing writes under SIGKILL, bounded for `make test`: scripts/kill_test.sh with 4 kills of each of
/// convert (fp32), save-pretrained and package at random moments of their run, on the real-size model. After every
/// kill each target is absent, the older output byte for byte, or the new one complete; never partial.
final class KillTests: XCTestCase {
    func testSIGKILLLeavesNoPartialOutput() throws {
        let cli = CLIRunner()
        let model = URL(fileURLWithPath: try cli.realModel("minilm-l6-ce"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [cli.root.appendingPathComponent("scripts/kill_test.sh").path, "4"]
        var env = ProcessInfo.processInfo.environment
        env["CETOOL"] = cli.binary.path
        env["MODEL"] = model.path
        env["CONVERT_DTYPE"] = "fp32"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        print(o)
        XCTAssertEqual(p.terminationStatus, 0, o + e)
        XCTAssertTrue(o.contains("PASS: no partial output in 12 SIGKILLed runs"), o + e)
        for name in ["convert", "save-pretrained", "package"] {
            XCTAssertTrue(o.contains("\(name): 4 kills"), "\(name) was killed: \(o)")
        }
    }
}

@testable import CECore
import Foundation
import XCTest

/// The stand-ins for full Foundation (PrintfFormat, PathText, the string helpers) against Foundation itself, which
/// this test target links: the same text for the formats and inputs cetool uses.
final class EssentialsShimTests: XCTestCase {
    #if canImport(FoundationEssentials)
    func testPrintfMatchesFoundationByteForByte() {
        let cases: [(String, [PrintfValue], [CVarArg])] = [
            ("%.6f", [.double(0.12345678)], [0.12345678]),
            ("%.6f", [.double(-3.0e-7)], [-3.0e-7]),
            ("%8.2f ms", [.double(12.345)], [12.345]),
            ("%.4g %%", [.double(99.99512)], [99.99512]),
            ("%.3g|%g|%.6g", [.double(1.5e-9), .double(100000), .double(.infinity)], [1.5e-9, 100000.0, Double.infinity]),
            ("%.1f MB (%d bytes)", [.double(25.3), .int(25_301_234)], [25.3, 25_301_234]),
            ("  %5d x %5d", [.int(384), .int(-1536)], [384, -1536]),
            ("%@: %@ artifact, %.1f %%", [.string("out/é"), .string("int8"), .double(27.94)], ["out/é", "int8", 27.94]),
            ("%.1f", [.double(.nan)], [Double.nan]),
        ]
        for (format, ours, theirs) in cases {
            XCTAssertEqual(PrintfFormat.render(Array(format.utf8), ours), String(format: format, arguments: theirs), format)
        }
    }

    func testPrintfMissingArgumentsAndUnknownConversionsNeverTrap() {
        XCTAssertEqual(PrintfFormat.render(Array("a %d b %f c".utf8), []), "a  b  c")
        XCTAssertEqual(PrintfFormat.render(Array("%q %".utf8), [.int(1)]), "%q %")
        XCTAssertEqual(PrintfFormat.render(Array("%s".utf8), [.string("x")]), "%s")
    }

    func testTrimmingMatchesFoundation() {
        let texts = [" \t a b \u{00A0}", "\n x \r\n", "", "   ", "\u{2028}y\u{85}"]
        for t in texts {
            XCTAssertEqual(t.trimmingCharacters(in: TrimmedCharacters.whitespaces), t.trimmingCharacters(in: CharacterSet.whitespaces))
            XCTAssertEqual(t.trimmingCharacters(in: TrimmedCharacters.whitespacesAndNewlines),
                           t.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines))
        }
    }
    #endif

    func testPathTextMatchesNSString() {
        for p in ["/a/b/c.bin", "/a/b/", "c.bin", "/", "/a", "a/b", "a//b//", ""] {
            XCTAssertEqual(PathText.lastComponent(p), (p as NSString).lastPathComponent, p)
            XCTAssertEqual(PathText.parent(p), (p as NSString).deletingLastPathComponent, p)
        }
    }

    func testSystemReasonNamesTheErrno() {
        XCTAssertThrowsError(try Data(contentsOf: URL(fileURLWithPath: "/nonexistent/edge-shim-test"))) { error in
            XCTAssertEqual(posixCode(error), ENOENT)
            XCTAssertEqual(systemReason(error), "No such file or directory")
        }
    }
}

import CECore
import XCTest

final class DisplayEscapingTests: XCTestCase {
    func testControlsBidiAndBackslashAreEscaped() {
        XCTAssertEqual(displayEscaped("bert.pooler.dense.weight"), "bert.pooler.dense.weight")
        XCTAssertEqual(displayEscaped("a\u{0}b"), "a\\u{0}b")
        XCTAssertEqual(displayEscaped("\u{1B}[31mred"), "\\u{1B}[31mred")
        XCTAssertEqual(displayEscaped("evil\u{202E}gpj.exe"), "evil\\u{202E}gpj.exe")
        XCTAssertEqual(displayEscaped("\u{2066}x\u{2069}\u{200F}\u{61C}\u{85}\u{7F}\u{2028}"),
                       "\\u{2066}x\\u{2069}\\u{200F}\\u{61C}\\u{85}\\u{7F}\\u{2028}")
        XCTAssertEqual(displayEscaped("a\\u{0}"), "a\\\\u{0}")
        XCTAssertEqual(displayEscaped("Zürich 東京 e\u{301}"), "Zürich 東京 e\u{301}")
    }
}

import CECore
import XCTest

final class TextLinesTests: XCTestCase {
    func lines(_ s: String) -> [[String]] { TextLines.nonBlank(Array(s.utf8)).map { [String($0.number), $0.text] } }

    func testLineEndsBlankLinesAndNumbers() {
        let expected = [["1", "a"], ["3", " b "], ["5", "c"]]
        XCTAssertEqual(lines("a\n\n b \n\t\nc\n"), expected)
        XCTAssertEqual(lines("a\r\n\r\n b \r\n \t\r\nc"), expected, "CRLF, and a last line without its newline")
        XCTAssertEqual(lines("\u{FEFF}a\n\n b \n\nc\n\n\n"), expected, "a byte order mark and trailing blank lines")
        XCTAssertEqual(lines("x\ry\n"), [["1", "x\ry"]], "a lone CR inside a line is the line's own")
        XCTAssertEqual(lines(""), [])
        XCTAssertEqual(lines("\r\n\n  "), [])
    }
}

import CETestSupport
import XCTest

/// The comparison helpers every numeric test leans on fail on NaN: a kernel that writes NaN cannot pass.
final class TestSupportTests: XCTestCase {
    func testNaNIsAnInfiniteDifference() {
        XCTAssertEqual(maxAbsDiff([1, 2, 3], [1, 2, 3]), 0)
        XCTAssertEqual(maxAbsDiff([1, 2.5], [1, 2]), 0.5)
        XCTAssertEqual(maxAbsDiff([1, .nan, 3], [1, 2, 3]), .infinity)
        XCTAssertEqual(maxAbsDiff([.nan], [.nan]), .infinity)
        XCTAssertEqual(maxAbsDiff([1, 2], [1, 2, 3]), .infinity)
        XCTAssertFalse(maxAbsDiff([0, .nan], [0, 0]) <= 1e-3, "a bound check on the helper fails on NaN")
    }

    func testAllCloseFailsOnNaN() {
        XCTAssertTrue(allClose([1, 2], [1, 2.0001], atol: 1e-3))
        XCTAssertFalse(allClose([1, .nan], [1, 2], atol: 1e3))
        XCTAssertFalse(allClose([.nan], [.nan], atol: 1, rtol: 1))
        XCTAssertFalse(allClose([1], [1, 2], atol: 1))
    }
}

import XCTest
@testable import CECore

final class ProcessMemoryTests: XCTestCase {
    func testPeakResidentGrowsWithTouchedMemory() throws {
        #if os(Linux)
        let before = try XCTUnwrap(ProcessMemory.peakResidentBytes())
        XCTAssertGreaterThan(before, 1 << 20)
        // Touch 64 MiB more than the process has ever held; VmHWM must follow.
        let size = before + (64 << 20)
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { p.deallocate() }
        var i = 0
        while i < size { p.storeBytes(of: 1, toByteOffset: i, as: UInt8.self); i += 4096 }
        let after = try XCTUnwrap(ProcessMemory.peakResidentBytes())
        XCTAssertGreaterThanOrEqual(after, before + (60 << 20))
        #else
        XCTAssertNil(ProcessMemory.peakResidentBytes())
        #endif
    }
}

import CECore
import XCTest

final class PageArenaTests: XCTestCase {
    func testSlicesAreAlignedZeroedAndBounded() throws {
        let arena = PageArena(capacity: 5 << 20)
        var slices: [UnsafeMutableRawPointer] = []
        for (count, alignment) in [(100, 64), (3 << 20, 64), (7, 4096), (1, 1)] {
            let p = try XCTUnwrap(arena.allocate(count: count, alignment: alignment))
            XCTAssertEqual(Int(bitPattern: p) % alignment, 0)
            let bytes = UnsafeMutableRawBufferPointer(start: p, count: count)
            XCTAssertTrue(bytes.allSatisfy { $0 == 0 })
            bytes.initializeMemory(as: UInt8.self, repeating: 0xAB)
            slices.append(p)
        }
        // no overlap: each slice still holds what was written to it
        XCTAssertTrue(UnsafeRawBufferPointer(start: slices[0], count: 100).allSatisfy { $0 == 0xAB })
        XCTAssertNil(arena.allocate(count: 2 << 20))
        let used = arena.used
        arena.trim()
        XCTAssertEqual(arena.used, used)
        XCTAssertNil(arena.allocate(count: 4096, alignment: 4096))
        XCTAssertTrue(UnsafeRawBufferPointer(start: slices[1], count: 3 << 20).allSatisfy { $0 == 0xAB })
        XCTAssertNil(PageArena(capacity: 0).allocate(count: 1))
    }
}

import CECore
import Foundation
import XCTest

final class MappedFileTests: XCTestCase {
    /// Resident kB of the mapping that starts at `address`, from /proc/self/smaps.
    private func residentKB(mappingAt address: UnsafeRawPointer) throws -> Int? {
        let smaps = try String(decoding: FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() ?? Data(), as: UTF8.self)
        let start = String(UInt(bitPattern: address), radix: 16)
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit) {
                inside = line[..<dash].drop(while: { $0 == "0" }) == start[...]
            } else if inside, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ")[1])
            }
        }
        return nil
    }

    /// Released pages leave the process (smaps Rss of the mapping falls) and read back the same bytes;
    /// a range outside the mapping and owned storage are left alone.
    func testReleasedPagesLeaveAndReadBackTheSame() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = (0..<(64 * page)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-mapped-\(getpid()).bin")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try MappedFile(path: url.path)
        let all = file.bytes
        XCTAssertEqual(Array(all), bytes) // every page touched
        let before = try XCTUnwrap(try residentKB(mappingAt: all.baseAddress!))
        XCTAssertGreaterThanOrEqual(before, 64 * page / 1024)
        // A view from the middle of page 1 to the middle of page 62: pages 2...61 wholly inside.
        let view = TensorStorage(view: UnsafeRawBufferPointer(rebasing: all[(page + page / 2)..<(62 * page + page / 2)]), owner: file)
        view.releaseMappedPages()
        let after = try XCTUnwrap(try residentKB(mappingAt: all.baseAddress!))
        XCTAssertEqual(before - after, 60 * page / 1024, "the 60 whole pages inside the view are released, no more")
        XCTAssertEqual(Array(all), bytes, "released pages read back from the file")

        let owned = TensorStorage(copying: UnsafeRawBufferPointer(rebasing: all[0..<(4 * page)]))
        owned.releaseMappedPages()
        XCTAssertEqual(Array(owned.bytes), Array(bytes[0..<(4 * page)]), "owned bytes are never released")
    }
}

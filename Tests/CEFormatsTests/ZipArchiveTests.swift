import CECore
import CEFormats
import CETestSupport
import Foundation
import XCTest

/// Writes zip archives byte by byte, including deliberately broken ones. Local data is 64-byte aligned
/// through a padding extra block, as torch.save does.
struct ZipBuilder {
    struct Item {
        var name: [UInt8]
        var data: [UInt8]
        var method: UInt16 = 0
        var flags: UInt16 = 0
        /// Defaults to `data.count`.
        var uncompressedSize: Int?
        /// Sizes and local offset in the central zip64 extra block behind 0xFFFFFFFF sentinels.
        var zip64Extra = false
        /// Name written in the local header when it should differ.
        var localName: [UInt8]?
        /// Zero crc and sizes in the local header, flag bit 3.
        var dataDescriptor = false
        /// Bytes added to the sizes declared in both headers.
        var sizeSurplus = 0
    }

    var items: [Item] = []
    var zip64End = true
    var comment: [UInt8] = []
    var declaredCount: Int?

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0) {
        items.append(Item(name: Array(name.utf8), data: data, method: method))
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for it in items {
            let at = out.count
            let crc = it.data.withUnsafeBytes { ZipArchive.crc32($0) }
            let csize = it.data.count + it.sizeSurplus
            let usize = (it.uncompressedSize ?? it.data.count) + it.sizeSurplus
            let localName = it.localName ?? it.name
            let pad = (64 - (at + 30 + localName.count + 4) % 64) % 64
            var extra: [UInt8] = [0x46, 0x42]
            extra.le16(UInt16(pad))
            extra += [UInt8](repeating: 0x5A, count: pad)
            out.le32(0x0403_4B50)
            out.le16(45)
            out.le16(it.flags | (it.dataDescriptor ? 8 : 0))
            out.le16(it.method)
            out.le16(0); out.le16(0)
            out.le32(it.dataDescriptor ? 0 : crc)
            out.le32(it.dataDescriptor ? 0 : UInt32(csize))
            out.le32(it.dataDescriptor ? 0 : UInt32(usize))
            out.le16(UInt16(localName.count))
            out.le16(UInt16(extra.count))
            out += localName + extra + it.data

            var cextra: [UInt8] = []
            if it.zip64Extra {
                cextra.le16(1)
                cextra.le16(24)
                cextra.le64(UInt64(usize))
                cextra.le64(UInt64(csize))
                cextra.le64(UInt64(at))
            }
            central.le32(0x0201_4B50)
            central.le16(45); central.le16(45)
            central.le16(it.flags | (it.dataDescriptor ? 8 : 0))
            central.le16(it.method)
            central.le16(0); central.le16(0)
            central.le32(crc)
            central.le32(it.zip64Extra ? 0xFFFF_FFFF : UInt32(csize))
            central.le32(it.zip64Extra ? 0xFFFF_FFFF : UInt32(usize))
            central.le16(UInt16(it.name.count))
            central.le16(UInt16(cextra.count))
            central.le16(0); central.le16(0); central.le16(0)
            central.le32(0)
            central.le32(it.zip64Extra ? 0xFFFF_FFFF : UInt32(at))
            central += it.name + cextra
        }
        let cdOffset = out.count
        out += central
        let n = declaredCount ?? items.count
        if zip64End {
            let recordAt = out.count
            out.le32(0x0606_4B50)
            out.le64(44)
            out.le16(45); out.le16(45)
            out.le32(0); out.le32(0)
            out.le64(UInt64(n)); out.le64(UInt64(n))
            out.le64(UInt64(central.count)); out.le64(UInt64(cdOffset))
            out.le32(0x0706_4B50)
            out.le32(0)
            out.le64(UInt64(recordAt))
            out.le32(1)
        }
        out.le32(0x0605_4B50)
        out.le16(0); out.le16(0)
        out.le16(UInt16(min(n, 0xFFFF))); out.le16(UInt16(min(n, 0xFFFF)))
        out.le32(UInt32(central.count)); out.le32(UInt32(cdOffset))
        out.le16(UInt16(comment.count))
        out += comment
        return out
    }
}

extension Array where Element == UInt8 {
    mutating func le16(_ v: UInt16) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func le32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func le64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}

final class ZipArchiveTests: XCTestCase {
    func directory(_ bytes: [UInt8], limits: ZipArchive.Limits = .default) throws -> ZipArchive.Directory {
        try bytes.withUnsafeBytes { try ZipArchive.readDirectory($0, limits: limits) }
    }

    func expect(_ bytes: [UInt8], _ expected: ZipError, limits: ZipArchive.Limits = .default,
                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try directory(bytes, limits: limits), file: file, line: line) {
            XCTAssertEqual($0 as? ZipError, expected, file: file, line: line)
        }
    }

    func two() -> ZipBuilder {
        var z = ZipBuilder()
        z.add("p/a", Array("hello".utf8))
        z.add("p/b", [1, 2, 3])
        return z
    }

    func testCRC32KnownValue() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { ZipArchive.crc32($0) }, 0xCBF4_3926)
        XCTAssertEqual([UInt8]().withUnsafeBytes { ZipArchive.crc32($0) }, 0)
    }

    func testReadsBuiltArchive() throws {
        for zip64 in [false, true] {
            var z = two()
            z.zip64End = zip64
            z.comment = Array("a comment".utf8)
            let bytes = z.bytes()
            let d = try directory(bytes)
            XCTAssertEqual(d.names, ["p/a", "p/b"])
            XCTAssertEqual(d.isZip64, zip64)
            let a = try XCTUnwrap(d.entry(named: "p/a"))
            XCTAssertEqual(a.dataOffset % 64, 0)
            XCTAssertEqual(a.compressedSize, 5)
            try bytes.withUnsafeBytes { raw in
                XCTAssertEqual(Array(try ZipArchive.storedData(of: a, in: raw)), Array("hello".utf8))
                for e in d.entries { try ZipArchive.verifyChecksum(of: e, in: raw) }
            }
            XCTAssertNil(d.entry(named: "p/c"))
        }
    }

    func testZip64ExtraFieldAndDataDescriptor() throws {
        var z = two()
        z.items[1].zip64Extra = true
        z.items[0].dataDescriptor = true
        let d = try directory(z.bytes())
        XCTAssertEqual(d.entries[1].compressedSize, 3)
        XCTAssertEqual(d.entries[1].uncompressedSize, 3)
        XCTAssertEqual(d.entries[1].localHeaderOffset, d.entries[0].dataRange.upperBound)
    }

    func testReadsTorchWrittenArchive() throws {
        let path = torchFixture("tiny.bin")
        let m = try MappedFile(path: path)
        let d = try ZipArchive.readDirectory(m.bytes)
        XCTAssertTrue(d.isZip64)
        XCTAssertEqual(d.entries.first?.name, "tiny/data.pkl")
        XCTAssertTrue(d.names.contains("tiny/byteorder"))
        // torch aligns every record's data to 64 bytes
        for e in d.entries { XCTAssertEqual(e.dataOffset % 64, 0, e.name) }
        for e in d.entries { try ZipArchive.verifyChecksum(of: e, in: m.bytes) }
    }

    func testEndRecordSearchIsBounded() {
        expect(Array(repeating: 0, count: 21), .tooSmall(size: 21))
        expect(Array(repeating: 7, count: 100), .endRecordNotFound)
        // A valid archive followed by more than a maximal comment: the record is out of reach.
        expect(two().bytes() + [UInt8](repeating: 0, count: 65_536), .endRecordNotFound)
        // Trailing bytes not declared as a comment.
        expect(two().bytes() + [0], .endRecordNotFound)
        // Truncated anywhere before the end record.
        expect(Array(two().bytes().dropLast(3)), .endRecordNotFound)
    }

    func testEndRecordConsistency() {
        var z = two()
        z.zip64End = false
        z.declaredCount = 0xFFFF
        expect(z.bytes(), .invalidEndRecord(reason: "end record has zip64 sentinels but no zip64 locator"))

        // A count far beyond what the central directory can hold is refused before allocating.
        var many = two()
        many.declaredCount = 1_000
        expect(many.bytes(), .invalidEndRecord(reason: "1000 entries cannot fit in a 98-byte central directory"))
        expect(many.bytes(), .tooManyEntries(count: 1_000, limit: 10), limits: ZipArchive.Limits(maxEntryCount: 10))

        var fewer = two()
        fewer.declaredCount = 1
        // p/b's data ends at 131 where the directory begins; its first entry is 46 + 3 bytes long
        expect(fewer.bytes(), .invalidCentralDirectory(offset: 131 + 49, reason: "49 bytes after the last of 1 entries"))
    }

    func testCentralDirectoryOffsetOutOfRange() {
        var bytes = two().bytes()
        let end = bytes.count - 22
        // cd offset field of the 32-bit record, and of the zip64 record
        bytes.replaceSubrange((end + 16)..<(end + 20), with: [0xFF, 0xFF, 0xFF, 0x7F])
        expect(bytes, .invalidEndRecord(reason: "end record and zip64 end record disagree"))
    }

    func testTooManyEntries() {
        expect(two().bytes(), .tooManyEntries(count: 2, limit: 1), limits: ZipArchive.Limits(maxEntryCount: 1))
    }

    func testRefusedNames() {
        let cases: [(String, String)] = [
            ("/etc/passwd", "absolute path"),
            ("C:/x", "absolute path (drive letter)"),
            ("p\\a", "contains a backslash"),
            ("p/\0a", "contains NUL"),
            ("..", "contains a \"..\" component"),
            ("p/../../x", "contains a \"..\" component"),
            ("", "empty name"),
        ]
        for (name, reason) in cases {
            var z = ZipBuilder()
            z.add(name, [1])
            expect(z.bytes(), .invalidName(name: name, reason: reason))
        }
        var bad = ZipBuilder()
        bad.items = [ZipBuilder.Item(name: [0x70, 0xFF], data: [1])]
        expect(bad.bytes(), .invalidName(name: "p\u{FFFD}", reason: "not UTF-8"))
        XCTAssertNil(ZipArchive.nameProblem("p/..a/b.."))
    }

    func testDuplicateNames() {
        var z = two()
        z.add("p/a", [9])
        expect(z.bytes(), .duplicateName("p/a"))
    }

    func testEncryptedEntries() {
        var z = two()
        z.items[0].flags = 1
        expect(z.bytes(), .encryptedEntry(name: "p/a"))
        var aes = two()
        aes.items[1].method = 99
        expect(aes.bytes(), .encryptedEntry(name: "p/b"))
    }

    func testOverlappingEntries() {
        var z = two()
        z.items[0].sizeSurplus = 40 // runs over the next local header
        expect(z.bytes(), .overlappingEntries("p/a", "p/b"))
    }

    func testDataPastTheCentralDirectory() {
        var z = two()
        z.items[1].sizeSurplus = 1_000
        let bytes = z.bytes()
        let d = try? directory(two().bytes())
        let cd = d!.centralDirectoryOffset
        let b = d!.entries[1]
        expect(bytes, .entryOutOfBounds(name: "p/b", end: b.dataOffset + 1_003, limit: cd))
    }

    func testLocalHeaderMustMatch() {
        var z = two()
        z.items[1].localName = Array("p/x".utf8)
        expect(z.bytes(), .localHeaderMismatch(name: "p/b", field: "name"))

        var bytes = two().bytes()
        bytes[8] = 8 // local method of p/a
        expect(bytes, .localHeaderMismatch(name: "p/a", field: "method"))

        var crc = two().bytes()
        crc[14] ^= 1
        expect(crc, .localHeaderMismatch(name: "p/a", field: "crc-32"))

        var sig = two().bytes()
        sig[0] = 0
        expect(sig, .localHeaderMismatch(name: "p/a", field: "signature"))
    }

    func testCompressedEntriesAreListedButNotRead() throws {
        var z = two()
        z.items[1].method = 8
        z.items[1].uncompressedSize = 10
        let bytes = z.bytes()
        let d = try directory(bytes)
        XCTAssertFalse(d.entries[1].isStored)
        try bytes.withUnsafeBytes { raw in
            XCTAssertThrowsError(try ZipArchive.storedData(of: d.entries[1], in: raw)) {
                XCTAssertEqual($0 as? ZipError, .compressedEntry(name: "p/b", method: 8))
            }
        }
    }

    func testChecksumMismatch() throws {
        var bytes = two().bytes()
        let d = try directory(bytes)
        bytes[d.entries[0].dataOffset] ^= 0xFF
        let e = d.entries[0]
        let good = Array("hello".utf8).withUnsafeBytes { ZipArchive.crc32($0) }
        try bytes.withUnsafeBytes { raw in
            XCTAssertThrowsError(try ZipArchive.verifyChecksum(of: e, in: raw)) {
                guard case .checksumMismatch(let n, let expected, _)? = $0 as? ZipError else { return XCTFail("\($0)") }
                XCTAssertEqual(n, "p/a")
                XCTAssertEqual(expected, good)
            }
        }
    }

    func testEveryTruncationIsATypedError() {
        let bytes = two().bytes()
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try directory(Array(bytes.prefix(n)))) {
                XCTAssertNotNil($0 as? ZipError, "prefix \(n): \($0)")
            }
        }
    }

    func testSingleByteCorruptionNeverTraps() {
        let bytes = two().bytes()
        var rng = SeededRNG(seed: 7)
        for i in bytes.indices {
            var b = bytes
            b[i] = UInt8.random(in: 0...255, using: &rng)
            do { _ = try directory(b) } catch { XCTAssertNotNil(error as? ZipError, "\(error)") }
        }
    }
}

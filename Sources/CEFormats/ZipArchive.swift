import CECore

/// Read-only ZIP archives (PKWARE APPNOTE.TXT 6.3.10) of the kind torch.save writes (formats/torch-zip.md):
/// stored entries, zip64 end records, no encryption, one disk. Entry data is addressed in place, never
/// decompressed or copied, so a caller holding the mapping can take views of it.
public enum ZipArchive {
    /// The end-of-central-directory record is searched for in the last 22 + 65,535 bytes (fixed part plus
    /// the longest comment).
    public static let maxEndRecordSearch = 65_557

    public struct Limits: Sendable, Equatable {
        public var maxEntryCount: Int
        public init(maxEntryCount: Int = 1_000_000) { self.maxEntryCount = maxEntryCount }
        public static let `default` = Limits()
    }

    /// One central-directory entry, validated against its local header.
    public struct Entry: Equatable, Sendable {
        public var name: String
        /// 0 stored, 8 deflate, …
        public var method: UInt16
        public var flags: UInt16
        public var crc32: UInt32
        public var compressedSize: Int
        public var uncompressedSize: Int
        /// Absolute offset of the local file header.
        public var localHeaderOffset: Int
        /// Absolute offset of the entry's data: local header + name + extra field.
        public var dataOffset: Int

        public var isStored: Bool { method == 0 }
        /// Absolute byte range of the (possibly compressed) data.
        public var dataRange: Range<Int> { dataOffset..<(dataOffset + compressedSize) }
    }

    /// A validated central directory. Entries are in central-directory order; names are unique.
    public struct Directory: Sendable {
        public var entries: [Entry]
        public var centralDirectoryOffset: Int
        public var centralDirectorySize: Int
        /// True when a zip64 end record was present (torch.save always writes one).
        public var isZip64: Bool
        private var index: [String: Int]

        init(entries: [Entry], centralDirectoryOffset: Int, centralDirectorySize: Int, isZip64: Bool) {
            self.entries = entries
            self.centralDirectoryOffset = centralDirectoryOffset
            self.centralDirectorySize = centralDirectorySize
            self.isZip64 = isZip64
            var idx: [String: Int] = [:]
            for (i, e) in entries.enumerated() { idx[e.name] = i }
            index = idx
        }

        public var names: [String] { entries.map(\.name) }

        public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }
    }

    private static let localHeaderSignature: UInt32 = 0x0403_4B50
    private static let centralHeaderSignature: UInt32 = 0x0201_4B50
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64ExtraID: UInt16 = 0x0001
    /// General-purpose flags: bit 0 encrypted, bit 6 strong encryption, bit 13 masked local headers.
    private static let encryptionFlags: UInt16 = 0x0001 | 0x0040 | 0x2000
    /// Bit 3: crc and sizes are zero in the local header and follow the data in a descriptor.
    private static let dataDescriptorFlag: UInt16 = 0x0008
    /// Method 99: WinZip AES.
    private static let aesMethod: UInt16 = 99

    private static let fixedEndSize = 22
    private static let locatorSize = 20
    private static let fixedZip64EndSize = 56
    private static let fixedCentralSize = 46
    private static let fixedLocalSize = 30

    /// Parses and validates the central directory of a whole archive held in `bytes`.
    ///
    /// Checks, in order: end record found with its comment reaching the end of the file; one disk; zip64
    /// locator and record consistent with it; entry count within `limits`; central directory inside the
    /// file and ending where the end records begin; each entry's signature, fields, zip64 extra, name
    /// (`invalidName`), encryption, uniqueness; each local header inside the file and matching its entry;
    /// data ending before the central directory; no two entries' [local header, data end) overlapping.
    public static func readDirectory(_ bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws -> Directory {
        guard bytes.count >= fixedEndSize else { throw ZipError.tooSmall(size: bytes.count) }
        let end = try endRecords(bytes, endAt: try findEndRecord(bytes))
        guard end.entriesOnDisk == end.totalEntries else { throw ZipError.multiDisk }
        guard end.totalEntries <= UInt64(limits.maxEntryCount) else {
            throw ZipError.tooManyEntries(count: end.totalEntries, limit: limits.maxEntryCount)
        }
        guard end.cdOffset <= UInt64(end.cdEndLimit), end.cdSize == UInt64(end.cdEndLimit) - end.cdOffset else {
            throw ZipError.invalidEndRecord(reason: "central directory [\(end.cdOffset), +\(end.cdSize)) does not end where the end records begin (\(end.cdEndLimit))")
        }
        let count = Int(end.totalEntries)
        let cdStart = Int(end.cdOffset)
        let cdEnd = end.cdEndLimit
        // Every entry needs at least its fixed part: refuses a huge count before allocating for it.
        let (minBytes, o) = count.multipliedReportingOverflow(by: fixedCentralSize)
        guard !o, minBytes <= cdEnd - cdStart else {
            throw ZipError.invalidEndRecord(reason: "\(count) entries cannot fit in a \(cdEnd - cdStart)-byte central directory")
        }
        let entries = try centralEntries(bytes, count: count, cdStart: cdStart, cdEnd: cdEnd)
        return Directory(entries: entries, centralDirectoryOffset: cdStart, centralDirectorySize: cdEnd - cdStart, isZip64: end.isZip64)
    }

    /// The end-of-central-directory record: the last signature whose comment length reaches the end exactly.
    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        let size = bytes.count
        var p = size - fixedEndSize
        let lowest = max(0, size - maxEndRecordSearch)
        while p >= lowest {
            if bytes.le32(p) == endSignature, Int(bytes.le16(p + 20)) == size - p - fixedEndSize { return p }
            p -= 1
        }
        throw ZipError.endRecordNotFound
    }

    /// What the end records say of the central directory.
    private struct EndRecords {
        var entriesOnDisk: UInt64
        var totalEntries: UInt64
        var cdSize: UInt64
        var cdOffset: UInt64
        /// Where the central directory must end: the zip64 record, else the end record.
        var cdEndLimit: Int
        var isZip64: Bool
    }

    /// The end record at `endAt` and, when its locator precedes it, the zip64 end record it points to.
    private static func endRecords(_ bytes: UnsafeRawBufferPointer, endAt: Int) throws -> EndRecords {
        let diskNumber = bytes.le16(endAt + 4)
        let cdDisk = bytes.le16(endAt + 6)
        let entriesOnDisk16 = bytes.le16(endAt + 8)
        let totalEntries16 = bytes.le16(endAt + 10)
        let cdSize32 = bytes.le32(endAt + 12)
        let cdOffset32 = bytes.le32(endAt + 16)
        let locatorAt = endAt - locatorSize
        guard locatorAt >= 0, bytes.le32(locatorAt) == zip64LocatorSignature else {
            guard diskNumber == 0, cdDisk == 0 else { throw ZipError.multiDisk }
            guard entriesOnDisk16 != 0xFFFF, totalEntries16 != 0xFFFF, cdSize32 != 0xFFFF_FFFF, cdOffset32 != 0xFFFF_FFFF else {
                throw ZipError.invalidEndRecord(reason: "end record has zip64 sentinels but no zip64 locator")
            }
            return EndRecords(entriesOnDisk: UInt64(entriesOnDisk16), totalEntries: UInt64(totalEntries16), cdSize: UInt64(cdSize32),
                              cdOffset: UInt64(cdOffset32), cdEndLimit: endAt, isZip64: false)
        }
        let z = try zip64EndRecord(bytes, locatorAt: locatorAt)
        // Fields of the 32-bit record that are not the 0xFFFF… sentinel must agree with the zip64 record.
        guard (entriesOnDisk16 == 0xFFFF || UInt64(entriesOnDisk16) == z.entriesOnDisk),
              (totalEntries16 == 0xFFFF || UInt64(totalEntries16) == z.totalEntries),
              (cdSize32 == 0xFFFF_FFFF || UInt64(cdSize32) == z.cdSize),
              (cdOffset32 == 0xFFFF_FFFF || UInt64(cdOffset32) == z.cdOffset) else {
            throw ZipError.invalidEndRecord(reason: "end record and zip64 end record disagree")
        }
        guard diskNumber == 0 || diskNumber == 0xFFFF, cdDisk == 0 || cdDisk == 0xFFFF else { throw ZipError.multiDisk }
        return z
    }

    /// The zip64 end record the locator at `locatorAt` points to, checked to reach the locator exactly.
    private static func zip64EndRecord(_ bytes: UnsafeRawBufferPointer, locatorAt: Int) throws -> EndRecords {
        let recordDisk = bytes.le32(locatorAt + 4)
        let recordOffset64 = bytes.le64(locatorAt + 8)
        let diskCount = bytes.le32(locatorAt + 16)
        guard recordDisk == 0, diskCount <= 1 else { throw ZipError.multiDisk }
        guard recordOffset64 <= UInt64(locatorAt), Int(recordOffset64) + fixedZip64EndSize <= locatorAt else {
            throw ZipError.invalidEndRecord(reason: "zip64 end record offset \(recordOffset64) is not before the locator at \(locatorAt)")
        }
        let r = Int(recordOffset64)
        guard bytes.le32(r) == zip64EndSignature else {
            throw ZipError.invalidEndRecord(reason: "no zip64 end record signature at \(r)")
        }
        // The size field counts the bytes after itself (12 bytes of signature and size).
        let recordSize = bytes.le64(r + 4)
        guard recordSize >= UInt64(fixedZip64EndSize - 12), recordSize == UInt64(locatorAt - r - 12) else {
            throw ZipError.invalidEndRecord(reason: "zip64 end record size \(recordSize) does not reach the locator")
        }
        guard bytes.le32(r + 16) == 0, bytes.le32(r + 20) == 0 else { throw ZipError.multiDisk }
        return EndRecords(entriesOnDisk: bytes.le64(r + 24), totalEntries: bytes.le64(r + 32), cdSize: bytes.le64(r + 40),
                          cdOffset: bytes.le64(r + 48), cdEndLimit: r, isZip64: true)
    }

    /// The `count` central entries filling [cdStart, cdEnd) exactly, names unique, no two overlapping.
    private static func centralEntries(_ bytes: UnsafeRawBufferPointer, count: Int, cdStart: Int, cdEnd: Int) throws -> [Entry] {
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var seen = Set<String>()
        var at = cdStart
        for i in 0..<count {
            let (entry, next) = try centralEntry(bytes, at: at, end: cdEnd, cdStart: cdStart, index: i)
            guard seen.insert(entry.name).inserted else { throw ZipError.duplicateName(entry.name) }
            entries.append(entry)
            at = next
        }
        guard at == cdEnd else {
            throw ZipError.invalidCentralDirectory(offset: at, reason: "\(cdEnd - at) bytes after the last of \(count) entries")
        }
        // Entries occupy [local header, data end); sorted by header offset each must end before the next begins.
        let order = entries.indices.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        for k in order.indices.dropFirst() {
            let a = entries[order[k - 1]], b = entries[order[k]]
            if a.dataRange.upperBound > b.localHeaderOffset { throw ZipError.overlappingEntries(a.name, b.name) }
        }
        return entries
    }

    /// A central header's fields, sizes and offset widened by its zip64 block.
    private struct CentralFields {
        var flags: UInt16
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
        var name: String
        var nameBytes: UnsafeRawBufferPointer
    }

    /// One central entry at `at`, its local header checked. Returns the entry and the offset after it.
    private static func centralEntry(_ bytes: UnsafeRawBufferPointer, at: Int, end: Int, cdStart: Int, index: Int) throws -> (Entry, Int) {
        guard end - at >= fixedCentralSize else {
            throw ZipError.invalidCentralDirectory(offset: at, reason: "entry \(index) truncated")
        }
        guard bytes.le32(at) == centralHeaderSignature else {
            throw ZipError.invalidCentralDirectory(offset: at, reason: "entry \(index) has no central header signature")
        }
        let nameLength = Int(bytes.le16(at + 28))
        let extraLength = Int(bytes.le16(at + 30))
        let commentLength = Int(bytes.le16(at + 32))
        let next = at + fixedCentralSize + nameLength + extraLength + commentLength
        guard next <= end else {
            throw ZipError.invalidCentralDirectory(offset: at, reason: "entry \(index) name, extra field and comment run past the central directory")
        }
        let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(at + fixedCentralSize)..<(at + fixedCentralSize + nameLength)])
        let name = try entryName(nameBytes)
        let f = try centralFields(bytes, at: at, name: name, nameBytes: nameBytes)
        // Local headers and data live before the central directory.
        guard f.localHeaderOffset <= UInt64(cdStart) else {
            throw ZipError.entryOutOfBounds(name: name, end: Int(clamping: f.localHeaderOffset), limit: cdStart)
        }
        guard f.uncompressedSize <= UInt64(Int.max) else {
            throw ZipError.invalidCentralDirectory(offset: at, reason: "entry \"\(name)\" size \(f.uncompressedSize) overflows")
        }
        if f.method == 0, f.compressedSize != f.uncompressedSize {
            throw ZipError.invalidCentralDirectory(offset: at, reason: "stored entry \"\(name)\" has compressed size \(f.compressedSize) and size \(f.uncompressedSize)")
        }
        let dataOffset = try checkLocalHeader(bytes, f, cdStart: cdStart)
        let entry = Entry(name: name, method: f.method, flags: f.flags, crc32: f.crc, compressedSize: Int(f.compressedSize),
                          uncompressedSize: Int(f.uncompressedSize), localHeaderOffset: Int(f.localHeaderOffset), dataOffset: dataOffset)
        return (entry, next)
    }

    /// The central header's fields at `at`, refusing encryption and other disks, sizes widened by the zip64 block.
    private static func centralFields(_ bytes: UnsafeRawBufferPointer, at: Int, name: String,
                                      nameBytes: UnsafeRawBufferPointer) throws -> CentralFields {
        let flags = bytes.le16(at + 8)
        let method = bytes.le16(at + 10)
        guard flags & encryptionFlags == 0, method != aesMethod else { throw ZipError.encryptedEntry(name: name) }
        let csize32 = bytes.le32(at + 20)
        let usize32 = bytes.le32(at + 24)
        let diskStart = bytes.le16(at + 34)
        let local32 = bytes.le32(at + 42)
        var f = CentralFields(flags: flags, method: method, crc: bytes.le32(at + 16), compressedSize: UInt64(csize32),
                              uncompressedSize: UInt64(usize32), localHeaderOffset: UInt64(local32), name: name, nameBytes: nameBytes)
        var disk = UInt32(diskStart)
        let extraStart = at + fixedCentralSize + nameBytes.count
        let extraEnd = extraStart + Int(bytes.le16(at + 30))
        var sawZip64 = false
        var e = extraStart
        while e < extraEnd {
            guard extraEnd - e >= 4 else { throw ZipError.invalidExtraField(name: name, reason: "\(extraEnd - e) stray bytes") }
            let id = bytes.le16(e)
            let n = Int(bytes.le16(e + 2))
            guard n <= extraEnd - e - 4 else { throw ZipError.invalidExtraField(name: name, reason: "block 0x\(String(id, radix: 16)) of \(n) bytes runs past the field") }
            if id == zip64ExtraID {
                guard !sawZip64 else { throw ZipError.invalidExtraField(name: name, reason: "two zip64 blocks") }
                sawZip64 = true
                // Present in this order, each only when its 32-bit field holds the sentinel.
                var q = e + 4
                let qEnd = q + n
                func take8() throws -> UInt64 {
                    guard qEnd - q >= 8 else { throw ZipError.invalidExtraField(name: name, reason: "zip64 block too short") }
                    defer { q += 8 }
                    return bytes.le64(q)
                }
                if usize32 == 0xFFFF_FFFF { f.uncompressedSize = try take8() }
                if csize32 == 0xFFFF_FFFF { f.compressedSize = try take8() }
                if local32 == 0xFFFF_FFFF { f.localHeaderOffset = try take8() }
                if diskStart == 0xFFFF {
                    guard qEnd - q >= 4 else { throw ZipError.invalidExtraField(name: name, reason: "zip64 block too short") }
                    disk = bytes.le32(q)
                }
            }
            e += 4 + n
        }
        let hasSentinel = usize32 == 0xFFFF_FFFF || csize32 == 0xFFFF_FFFF || local32 == 0xFFFF_FFFF || diskStart == 0xFFFF
        guard sawZip64 || !hasSentinel else {
            throw ZipError.invalidExtraField(name: name, reason: "zip64 sentinel without a zip64 block")
        }
        guard disk == 0 else { throw ZipError.multiDisk }
        return f
    }

    /// The local header of `f` inside the file before the central directory and agreeing with it; returns the
    /// data offset, checked so the data also ends before the central directory.
    private static func checkLocalHeader(_ bytes: UnsafeRawBufferPointer, _ f: CentralFields, cdStart: Int) throws -> Int {
        let name = f.name
        let l = Int(f.localHeaderOffset)
        guard cdStart - l >= fixedLocalSize else {
            throw ZipError.entryOutOfBounds(name: name, end: l + fixedLocalSize, limit: cdStart)
        }
        guard bytes.le32(l) == localHeaderSignature else { throw ZipError.localHeaderMismatch(name: name, field: "signature") }
        let lFlags = bytes.le16(l + 6)
        let lNameLength = Int(bytes.le16(l + 26))
        let lExtraLength = Int(bytes.le16(l + 28))
        let dataOffset = l + fixedLocalSize + lNameLength + lExtraLength
        guard dataOffset <= cdStart else { throw ZipError.entryOutOfBounds(name: name, end: dataOffset, limit: cdStart) }
        let lName = UnsafeRawBufferPointer(rebasing: bytes[(l + fixedLocalSize)..<(l + fixedLocalSize + lNameLength)])
        guard lName.elementsEqual(f.nameBytes) else { throw ZipError.localHeaderMismatch(name: name, field: "name") }
        guard bytes.le16(l + 8) == f.method else { throw ZipError.localHeaderMismatch(name: name, field: "method") }
        guard lFlags & encryptionFlags == 0 else { throw ZipError.encryptedEntry(name: name) }
        if lFlags & dataDescriptorFlag == 0 {
            guard bytes.le32(l + 14) == f.crc else { throw ZipError.localHeaderMismatch(name: name, field: "crc-32") }
            let lCSize = bytes.le32(l + 18), lUSize = bytes.le32(l + 22)
            var lc = UInt64(lCSize), lu = UInt64(lUSize)
            if lCSize == 0xFFFF_FFFF || lUSize == 0xFFFF_FFFF {
                // The local zip64 block holds both sizes, uncompressed first.
                guard let sizes = localZip64Sizes(bytes, from: l + fixedLocalSize + lNameLength, count: lExtraLength) else {
                    throw ZipError.localHeaderMismatch(name: name, field: "zip64 sizes")
                }
                lu = sizes.0
                lc = sizes.1
            }
            guard lc == f.compressedSize, lu == f.uncompressedSize else { throw ZipError.localHeaderMismatch(name: name, field: "sizes") }
        }
        guard f.compressedSize <= UInt64(cdStart - dataOffset) else {
            let (sum, o) = UInt64(dataOffset).addingReportingOverflow(f.compressedSize)
            throw ZipError.entryOutOfBounds(name: name, end: Int(clamping: o ? UInt64.max : sum), limit: cdStart)
        }
        return dataOffset
    }

    private static func localZip64Sizes(_ bytes: UnsafeRawBufferPointer, from start: Int, count: Int) -> (UInt64, UInt64)? {
        var e = start
        let end = start + count
        while end - e >= 4 {
            let id = bytes.le16(e)
            let n = Int(bytes.le16(e + 2))
            guard n <= end - e - 4 else { return nil }
            if id == zip64ExtraID {
                guard n >= 16 else { return nil }
                return (bytes.le64(e + 4), bytes.le64(e + 12))
            }
            e += 4 + n
        }
        return nil
    }

    /// The entry name as UTF-8, refusing names that could escape or alias a directory.
    private static func entryName(_ raw: UnsafeRawBufferPointer) throws -> String {
        let shown = String(decoding: raw, as: UTF8.self)
        guard let name = String(validating: raw, as: UTF8.self) else { throw ZipError.invalidName(name: shown, reason: "not UTF-8") }
        if let why = nameProblem(name) { throw ZipError.invalidName(name: name, reason: why) }
        return name
    }

    /// Why `name` is not a safe relative entry path, or nil: empty, NUL, backslash, absolute (leading `/`
    /// or a drive letter), or a `..` component.
    public static func nameProblem(_ name: String) -> String? {
        let u = Array(name.utf8)
        if u.isEmpty { return "empty name" }
        if u.contains(0) { return "contains NUL" }
        if u.contains(UInt8(ascii: "\\")) { return "contains a backslash" }
        if u[0] == UInt8(ascii: "/") { return "absolute path" }
        if u.count >= 2, u[1] == UInt8(ascii: ":"), (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(u[0] & 0xDF) {
            return "absolute path (drive letter)"
        }
        if u.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).contains(where: { $0.elementsEqual("..".utf8) }) {
            return "contains a \"..\" component"
        }
        return nil
    }

    /// The data of a stored entry: a view into `bytes`, the archive the directory was read from.
    public static func storedData(of entry: Entry, in bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard entry.isStored else { throw ZipError.compressedEntry(name: entry.name, method: entry.method) }
        return UnsafeRawBufferPointer(rebasing: bytes[entry.dataRange])
    }

    /// Checks a stored entry's CRC-32 against its directory value.
    public static func verifyChecksum(of entry: Entry, in bytes: UnsafeRawBufferPointer) throws {
        let actual = crc32(try storedData(of: entry, in: bytes))
        guard actual == entry.crc32 else { throw ZipError.checksumMismatch(name: entry.name, expected: entry.crc32, actual: actual) }
    }

    /// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), as zip and zlib compute it.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var c = ~initial
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}

public enum ZipError: Error, Equatable, CustomStringConvertible {
    case tooSmall(size: Int)
    case endRecordNotFound
    case multiDisk
    case invalidEndRecord(reason: String)
    case tooManyEntries(count: UInt64, limit: Int)
    case invalidCentralDirectory(offset: Int, reason: String)
    case invalidExtraField(name: String, reason: String)
    case invalidName(name: String, reason: String)
    case duplicateName(String)
    case encryptedEntry(name: String)
    case localHeaderMismatch(name: String, field: String)
    case entryOutOfBounds(name: String, end: Int, limit: Int)
    case overlappingEntries(String, String)
    case compressedEntry(name: String, method: UInt16)
    case checksumMismatch(name: String, expected: UInt32, actual: UInt32)

    public var description: String {
        switch self {
        case .tooSmall(let s): return "zip: file is \(s) bytes, smaller than an end-of-central-directory record"
        case .endRecordNotFound: return "zip: no end-of-central-directory record in the last \(ZipArchive.maxEndRecordSearch) bytes (not a zip archive, or truncated)"
        case .multiDisk: return "zip: multi-disk archives are not supported"
        case .invalidEndRecord(let r): return "zip: invalid end records: \(r)"
        case .tooManyEntries(let c, let l): return "zip: \(c) entries, above the limit of \(l)"
        case .invalidCentralDirectory(let o, let r): return "zip: invalid central directory at byte \(o): \(r)"
        case .invalidExtraField(let n, let r): return "zip: entry \"\(displayEscaped(n))\": invalid extra field: \(r)"
        case .invalidName(let n, let r): return "zip: refused entry name \"\(displayEscaped(n))\": \(r)"
        case .duplicateName(let n): return "zip: duplicate entry name \"\(displayEscaped(n))\""
        case .encryptedEntry(let n): return "zip: entry \"\(displayEscaped(n))\" is encrypted"
        case .localHeaderMismatch(let n, let f): return "zip: entry \"\(displayEscaped(n))\": local header \(f) does not match the central directory"
        case .entryOutOfBounds(let n, let e, let l): return "zip: entry \"\(displayEscaped(n))\" extends to byte \(e), past the \(l) bytes before the central directory (truncated file?)"
        case .overlappingEntries(let a, let b): return "zip: entries \"\(displayEscaped(a))\" and \"\(displayEscaped(b))\" overlap"
        case .compressedEntry(let n, let m): return "zip: entry \"\(displayEscaped(n))\" is compressed (method \(m)); only stored entries can be read in place"
        case .checksumMismatch(let n, let e, let a): return "zip: entry \"\(displayEscaped(n))\": CRC-32 0x\(String(a, radix: 16)) does not match the recorded 0x\(String(e, radix: 16))"
        }
    }
}

/// Little-endian loads at offsets the caller has bounds-checked.
fileprivate extension UnsafeRawBufferPointer {
    func le16(_ at: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    func le32(_ at: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    func le64(_ at: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
}

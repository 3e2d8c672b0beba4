import CECore

/// PyTorch checkpoints in the zip format of torch.save (torch ≥ 1.6, formats/torch-zip.md), read without
/// Python and without executing anything: a validated zip directory (`ZipArchive`), a closed unpickler for
/// `<prefix>/data.pkl` (`Unpickler`), and tensors as views of the stored `<prefix>/data/<key>` records.
/// Legacy pickles, legacy tar files, TorchScript archives and bare pickles are recognised and refused.
public enum TorchZip {
    /// A tensor as `_rebuild_tensor_v2/_v3` describes it: a strided view of a storage.
    public struct TensorRecord: Equatable, Sendable {
        /// The storage's record is `<prefix>/data/<storageKey>`.
        public var storageKey: String
        /// Element type of the storage; `.u8` for UntypedStorage (v3).
        public var storageDType: DType
        /// Elements of `storageDType` (bytes for UntypedStorage).
        public var storageNumel: Int
        /// Element type of the tensor: the storage's (v2) or the dtype argument (v3).
        public var dtype: DType
        /// storage_offset, in elements of `dtype`.
        public var offset: Int
        public var shape: Shape
        /// In elements of `dtype`, one per dimension.
        public var stride: [Int]
        /// Device tag from the persistent id ("cpu", "cuda:0", …); informational.
        public var location: String

        public init(storageKey: String, storageDType: DType, storageNumel: Int, dtype: DType, offset: Int, shape: Shape,
                    stride: [Int], location: String) {
            self.storageKey = storageKey
            self.storageDType = storageDType
            self.storageNumel = storageNumel
            self.dtype = dtype
            self.offset = offset
            self.shape = shape
            self.stride = stride
            self.location = location
        }

        /// Row-major contiguous: each stride is the product of the later sizes (strides of size-1
        /// dimensions are ignored, as torch's is_contiguous does).
        public var isContiguous: Bool {
            var expected = 1
            for d in stride.indices.reversed() {
                let n = shape.dims[d]
                if n != 1, stride[d] != expected { return false }
                let (p, o) = expected.multipliedReportingOverflow(by: n)
                if o { return false }
                expected = p
            }
            return true
        }
    }

    /// A named tensor of a checkpoint, validated against its storage.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var record: TensorRecord
        /// The zip entry holding the storage.
        public var storageEntryName: String
        public var dtype: DType { record.dtype }
        public var shape: Shape { record.shape }
        /// True when the tensor is a zero-copy view of the file; false when `tensor(_:)` copies it.
        public var isContiguous: Bool { record.isContiguous }
    }

    public struct Options: Sendable, Equatable {
        /// Check the CRC-32 of every entry (reads the whole file).
        public var verifyChecksums: Bool
        public var zipLimits: ZipArchive.Limits
        public var pickleLimits: Unpickler.Limits

        public init(verifyChecksums: Bool = false, zipLimits: ZipArchive.Limits = .default, pickleLimits: Unpickler.Limits = .default) {
            self.verifyChecksums = verifyChecksums
            self.zipLimits = zipLimits
            self.pickleLimits = pickleLimits
        }
    }

    /// A parsed and validated checkpoint.
    public struct Checkpoint: Sendable {
        /// The folder every entry lives in: the first entry's, e.g. "archive" or the file's stem.
        public var prefix: String
        /// `<prefix>/version` (torch's archive format version, 1…10).
        public var version: Int
        /// `<prefix>/.format_version`, when present.
        public var formatVersion: Int?
        /// `<prefix>/.storage_alignment`, when present (64 by default).
        public var storageAlignment: Int?
        /// `<prefix>/byteorder` ("little"), nil when absent (torch then assumes little-endian).
        public var byteOrder: String?
        /// The state dict in pickle order.
        public var entries: [Entry]
        public var directory: ZipArchive.Directory
    }

    /// What a file's first bytes say it is.
    public enum Container: Equatable, Sendable {
        /// A zip archive (torch.save since 1.6, or TorchScript).
        case zip
        /// torch.save with `_use_new_zipfile_serialization=False` or torch < 1.6: a pickle of the legacy magic number.
        case legacyPickle
        /// A pickle stream that is not a legacy torch checkpoint.
        case barePickle
        /// A tar archive (torch's oldest format).
        case legacyTar
        /// A Git LFS pointer: the repository was cloned without fetching LFS objects.
        case gitLFSPointer
        case unknown
    }

    /// Legacy torch serialization magic number, pickled first in legacy files (torch/serialization.py).
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] // 0x1950a86a20f9469cfc6c LE

    public static func detect(_ bytes: UnsafeRawBufferPointer) -> Container {
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, (bytes[2], bytes[3]) == (3, 4) || (bytes[2], bytes[3]) == (5, 6) {
            return .zip
        }
        if bytes.count >= 1, bytes[0] == 0x80 {
            // PROTO n, LONG1 10, the magic number
            if bytes.count >= 14, bytes[2] == 0x8A, bytes[3] == 10, bytes[4..<14].elementsEqual(legacyMagic) { return .legacyPickle }
            return .barePickle
        }
        if bytes.count >= 262, bytes[257..<262].elementsEqual("ustar".utf8) { return .legacyTar }
        if bytes.starts(with: "version https://git-lfs.github.com/spec/".utf8) { return .gitLFSPointer }
        return .unknown
    }

    /// Parses and validates a whole checkpoint file held in `bytes`.
    ///
    /// Checks, in order: container kind; zip directory; a prefix folder shared by every entry; no
    /// TorchScript entries; every entry stored; byteorder "little" when present; version 1…10; optional
    /// .format_version and .storage_alignment integers; data.pkl unpickled into a state dict; each tensor's
    /// storage record present, `numel × element size` bytes long, and covering the tensor's view; checksums
    /// when `options.verifyChecksums`.
    public static func readCheckpoint(_ bytes: UnsafeRawBufferPointer, options: Options = .init()) throws -> Checkpoint {
        try checkContainer(bytes)
        let (dir, prefix) = try prefixedDirectory(bytes, options: options)
        let records = Records(bytes: bytes, directory: dir, folder: prefix + "/")
        let byteOrder = try records.text("byteorder")
        if let bo = byteOrder, bo != "little" { throw TorchZipError.unsupportedByteOrder(bo.debugEscaped) }
        let version = try records.version()
        let formatVersion = try records.integer(".format_version", 1...1_000)
        let alignment = try records.integer(".storage_alignment", 1...(1 << 30))
        let entries = try tensorEntries(records, options: options)
        if options.verifyChecksums {
            for e in dir.entries {
                do { try ZipArchive.verifyChecksum(of: e, in: bytes) } catch let z as ZipError { throw TorchZipError.zip(z) }
            }
        }
        return Checkpoint(prefix: prefix, version: version, formatVersion: formatVersion, storageAlignment: alignment,
                          byteOrder: byteOrder, entries: entries, directory: dir)
    }

    /// A zip; any other container (legacy pickle or tar, a bare pickle, a Git LFS pointer) is refused by name.
    static func checkContainer(_ bytes: UnsafeRawBufferPointer) throws {
        switch detect(bytes) {
        case .zip: return
        case .legacyPickle: throw TorchZipError.legacyPickleCheckpoint
        case .barePickle: throw TorchZipError.barePickle
        case .legacyTar: throw TorchZipError.legacyTarCheckpoint
        case .gitLFSPointer: throw TorchZipError.gitLFSPointer
        case .unknown: throw TorchZipError.notACheckpoint(firstBytes: Array(bytes.prefix(8)))
        }
    }

    /// The zip directory and the prefix folder every entry shares; no TorchScript entries, every entry stored.
    static func prefixedDirectory(_ bytes: UnsafeRawBufferPointer, options: Options) throws -> (ZipArchive.Directory, String) {
        let dir: ZipArchive.Directory
        do {
            dir = try ZipArchive.readDirectory(bytes, limits: options.zipLimits)
        } catch let e as ZipError {
            throw TorchZipError.zip(e)
        }
        guard let first = dir.entries.first else { throw TorchZipError.emptyArchive }
        guard let slash = first.name.firstIndex(of: "/"), slash != first.name.startIndex else {
            throw TorchZipError.noPrefixFolder(name: first.name)
        }
        let prefix = String(first.name[..<slash])
        let folder = prefix + "/"
        for e in dir.entries where !e.name.hasPrefix(folder) {
            throw TorchZipError.entryOutsidePrefix(name: e.name, prefix: prefix)
        }
        for e in dir.entries where e.name == folder + "constants.pkl" || e.name.hasPrefix(folder + "code/") {
            throw TorchZipError.torchScriptArchive(entry: e.name)
        }
        for e in dir.entries where !e.isStored {
            throw TorchZipError.compressedRecord(name: e.name, method: e.method)
        }
        return (dir, prefix)
    }

    /// The archive's records under its prefix folder.
    struct Records {
        let bytes: UnsafeRawBufferPointer
        let directory: ZipArchive.Directory
        /// The prefix folder with its slash.
        let folder: String

        func data(_ e: ZipArchive.Entry) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[e.dataRange]) }

        /// A record of at most 64 bytes of UTF-8 ("3\n", "little", "64"), as written.
        func text(_ name: String) throws -> String? {
            guard let e = directory.entry(named: folder + name) else { return nil }
            guard e.compressedSize <= 64, let s = String(validating: data(e), as: UTF8.self) else {
                throw TorchZipError.invalidRecord(name: e.name, reason: "not a short UTF-8 text")
            }
            return s
        }

        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let s = try text(name) else { return nil }
            let t = s.trimmingASCIIWhitespace
            guard !t.isEmpty, t.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let v = Int(t), range.contains(v) else {
                throw TorchZipError.invalidRecord(name: folder + name, reason: "\"\(s.debugEscaped)\" is not an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }

        /// `version` (or `.data/version`), an integer torch reads.
        func version() throws -> Int {
            guard let versionText = try text("version") ?? text(".data/version") else {
                throw TorchZipError.recordMissing(name: folder + "version")
            }
            let vt = versionText.trimmingASCIIWhitespace
            guard !vt.isEmpty, vt.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let version = Int(vt) else {
                throw TorchZipError.invalidRecord(name: folder + "version", reason: "\"\(versionText.debugEscaped)\" is not an integer")
            }
            guard supportedVersions.contains(version) else { throw TorchZipError.unsupportedVersion(version) }
            return version
        }
    }

    /// data.pkl unpickled into a state dict, each tensor's storage record present and covering its view.
    static func tensorEntries(_ records: Records, options: Options) throws -> [Entry] {
        guard let pkl = records.directory.entry(named: records.folder + "data.pkl") else {
            throw TorchZipError.recordMissing(name: records.folder + "data.pkl")
        }
        let items: [(name: String, record: TensorRecord)]
        do {
            items = try Unpickler.readStateDict(records.data(pkl), limits: options.pickleLimits)
        } catch let e as UnpicklerError {
            throw TorchZipError.pickle(e)
        }
        var entries: [Entry] = []
        entries.reserveCapacity(items.count)
        for (name, r) in items {
            let storageName = records.folder + "data/" + r.storageKey
            guard let s = records.directory.entry(named: storageName) else { throw TorchZipError.storageMissing(key: r.storageKey) }
            try validate(name: name, r, storageBytes: s.uncompressedSize)
            entries.append(Entry(name: name, record: r, storageEntryName: storageName))
        }
        return entries
    }

    /// Archive format versions torch reads (caffe2/serialize/versions.h: kMin/kMaxSupportedFileFormatVersion).
    public static let supportedVersions = 1...10

    /// Checks a record against its storage of `storageBytes` bytes (the zip entry's size).
    public static func validate(name: String, _ r: TensorRecord, storageBytes: Int) throws {
        let (expected, o) = r.storageNumel.multipliedReportingOverflow(by: r.storageDType.byteSize)
        guard !o, expected == storageBytes else {
            throw TorchZipError.storageSizeMismatch(key: r.storageKey, expected: o ? Int.max : expected, actual: storageBytes)
        }
        let es = r.dtype.byteSize
        guard let numel = r.shape.checkedElementCount, !numel.multipliedReportingOverflow(by: es).overflow else {
            throw TorchZipError.shapeOverflow(name: name, shape: r.shape.dims)
        }
        // Bytes from the storage start to the end of the view's last element; for an empty view, the offset.
        var last = r.offset
        var overflow = false
        if numel > 0 {
            for (n, s) in zip(r.shape.dims, r.stride) {
                let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
                let (sum, o2) = last.addingReportingOverflow(step)
                overflow = overflow || o1 || o2
                last = sum
            }
            let (l1, o3) = last.addingReportingOverflow(1)
            overflow = overflow || o3
            last = l1
        }
        let (needed, o4) = last.multipliedReportingOverflow(by: es)
        guard !overflow, !o4, needed <= storageBytes else {
            throw TorchZipError.tensorOutOfBounds(name: name, neededBytes: overflow || o4 ? Int.max : needed, storageBytes: storageBytes)
        }
        // A copy may not exceed its storage: bounds what a few bytes of stride-0 view can make us allocate.
        if !r.isContiguous, numel * es > storageBytes {
            throw TorchZipError.viewLargerThanStorage(name: name, bytes: numel * es, storageBytes: storageBytes)
        }
    }

    /// The tensor of `entry`: a view of `storage` (the record's bytes, kept alive by `owner`) when
    /// contiguous, else a row-major copy. `entry` must have passed `validate` against `storage.count`
    /// (as every entry of a `Checkpoint` has).
    public static func tensor(_ entry: Entry, storage: UnsafeRawBufferPointer, owner: AnyObject) -> Tensor {
        let r = entry.record
        let es = r.dtype.byteSize
        let numel = r.shape.elementCount
        if r.isContiguous || numel == 0 {
            let start = r.offset * es
            let view = UnsafeRawBufferPointer(rebasing: storage[start..<(start + numel * es)])
            return Tensor(dtype: r.dtype, shape: r.shape, storage: TensorStorage(view: view, owner: owner))
        }
        let box = OwnedBytes(count: numel * es, alignment: 64)
        gather(storage, offset: r.offset, shape: r.shape.dims, stride: r.stride, elementSize: es, into: box.pointer)
        return Tensor(dtype: r.dtype, shape: r.shape,
                      storage: TensorStorage(view: UnsafeRawBufferPointer(start: box.pointer, count: numel * es), owner: box))
    }

    /// Copies the strided view (offset, shape, stride in elements) of `src` to `dst` in row-major order.
    /// The caller has checked that every addressed element lies in `src` and that the view is not empty.
    /// Index arithmetic wraps: a size-1 dimension may carry any stride, and stepping past it and back is
    /// exact modulo 2^64, while every index actually read is one that validation bounded.
    static func gather(_ src: UnsafeRawBufferPointer, offset: Int, shape: [Int], stride: [Int], elementSize es: Int,
                       into dst: UnsafeMutableRawPointer) {
        let from = src.baseAddress!
        func copy(_ s: Int, _ d: Int) {
            switch es {
            case 1: dst.storeBytes(of: from.load(fromByteOffset: s, as: UInt8.self), toByteOffset: d, as: UInt8.self)
            case 2: dst.storeBytes(of: from.loadUnaligned(fromByteOffset: s * 2, as: UInt16.self), toByteOffset: d * 2, as: UInt16.self)
            case 4: dst.storeBytes(of: from.loadUnaligned(fromByteOffset: s * 4, as: UInt32.self), toByteOffset: d * 4, as: UInt32.self)
            case 8: dst.storeBytes(of: from.loadUnaligned(fromByteOffset: s * 8, as: UInt64.self), toByteOffset: d * 8, as: UInt64.self)
            default: (dst + d * es).copyMemory(from: from + s * es, byteCount: es)
            }
        }
        guard let inner = shape.last, let innerStride = stride.last else {
            copy(offset, 0)
            return
        }
        let outer = shape.count - 1
        var index = [Int](repeating: 0, count: outer)
        var base = offset
        var out = 0
        while true {
            var s = base
            for _ in 0..<inner {
                copy(s, out)
                out += 1
                s &+= innerStride
            }
            // Odometer over the outer dimensions, last fastest.
            var d = outer - 1
            while d >= 0 {
                index[d] += 1
                base &+= stride[d]
                if index[d] < shape[d] { break }
                base &-= stride[d] &* shape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }

    /// A memory-mapped checkpoint; contiguous tensors are views into the mapping.
    public final class File: @unchecked Sendable {
        public let path: String
        public let checkpoint: Checkpoint
        private let mapping: MappedFile
        private let index: [String: Int]

        public init(path: String, options: Options = .init()) throws {
            let m: MappedFile
            do {
                m = try MappedFile(path: path)
            } catch let e as FileError {
                if case .notFound = e { throw TorchZipError.fileMissing(path: path) }
                throw e
            }
            mapping = m
            self.path = path
            do {
                checkpoint = try TorchZip.readCheckpoint(m.bytes, options: options)
            } catch let e as TorchZipError {
                throw TorchZipError.inFile(path: path, e)
            }
            var idx: [String: Int] = [:]
            for (i, e) in checkpoint.entries.enumerated() { idx[e.name] = i }
            index = idx
        }

        public var prefix: String { checkpoint.prefix }

        /// Tensor names in pickle order.
        public var names: [String] { checkpoint.entries.map(\.name) }

        public func entry(_ name: String) -> Entry? { index[name].map { checkpoint.entries[$0] } }

        /// The tensor named `name`: a view into the mapping when contiguous, else a row-major copy.
        public func tensor(_ name: String) throws -> Tensor {
            guard let e = entry(name) else { throw TorchZipError.tensorMissing(name: name, path: path) }
            let s = checkpoint.directory.entry(named: e.storageEntryName)!
            return TorchZip.tensor(e, storage: UnsafeRawBufferPointer(rebasing: mapping.bytes[s.dataRange]), owner: mapping)
        }
    }

    // MARK: names

    /// Typed storage class -> DType. PyTorch: FloatStorage F32, HalfStorage F16, BFloat16Storage BF16,
    /// DoubleStorage F64, LongStorage I64, IntStorage I32, ShortStorage I16, CharStorage I8, ByteStorage U8,
    /// BoolStorage BOOL.
    public static func dtype(storageType name: String) -> DType? {
        switch name {
        case "FloatStorage": return .f32
        case "HalfStorage": return .f16
        case "BFloat16Storage": return .bf16
        case "DoubleStorage": return .f64
        case "LongStorage": return .i64
        case "IntStorage": return .i32
        case "ShortStorage": return .i16
        case "CharStorage": return .i8
        case "ByteStorage": return .u8
        case "BoolStorage": return .bool
        default: return nil
        }
    }

    /// DType -> typed storage class, nil for types torch keeps in an UntypedStorage (u16, u32, u64).
    public static func storageTypeName(of d: DType) -> String? {
        switch d {
        case .f32: return "FloatStorage"
        case .f16: return "HalfStorage"
        case .bf16: return "BFloat16Storage"
        case .f64: return "DoubleStorage"
        case .i64: return "LongStorage"
        case .i32: return "IntStorage"
        case .i16: return "ShortStorage"
        case .i8: return "CharStorage"
        case .u8: return "ByteStorage"
        case .bool: return "BoolStorage"
        case .u16, .u32, .u64: return nil
        }
    }

    /// torch dtype name (as pickled: `torch.float32.__reduce__()`) -> DType.
    public static func dtype(named name: String) -> DType? {
        DType.allCases.first { self.name(of: $0) == name }
    }

    /// DType -> torch dtype name.
    public static func name(of d: DType) -> String {
        switch d {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .f64: return "float64"
        case .i64: return "int64"
        case .i32: return "int32"
        case .i16: return "int16"
        case .i8: return "int8"
        case .u64: return "uint64"
        case .u32: return "uint32"
        case .u16: return "uint16"
        case .u8: return "uint8"
        case .bool: return "bool"
        }
    }

    /// torch storage classes refused as `unsupportedStorageType` rather than `disallowedGlobal`.
    static let knownUnsupportedStorageTypes: Set<String> = [
        "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage",
        "QUInt4x2Storage", "QUInt2x4Storage",
    ]

    /// torch dtypes refused as `unsupportedDType` rather than `disallowedGlobal`.
    static let knownUnsupportedDTypes: Set<String> = [
        "complex32", "complex64", "complex128", "bcomplex32", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
        "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
        "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16", "int1", "int2", "int3", "int4", "int5", "int6", "int7",
        "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
    ]

    /// Why `key` cannot name a storage record `<prefix>/data/<key>`, or nil. torch writes decimal keys.
    public static func storageKeyProblem(_ key: String) -> String? {
        if key.isEmpty { return "empty" }
        if key.utf8.count > 256 { return "longer than 256 bytes" }
        if key == "." || key == ".." { return "a dot path" }
        if key.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }) {
            return "contains '/', '\\\\' or NUL"
        }
        return nil
    }

    /// What the refusal of a legacy checkpoint tells the user to do.
    public static let conversionHint =
        "convert it in Python with torch.save(torch.load(p), p2) (default _use_new_zipfile_serialization=True) or save it as safetensors"
}

public indirect enum TorchZipError: Error, Equatable, CustomStringConvertible {
    case fileMissing(path: String)
    case notACheckpoint(firstBytes: [UInt8])
    case legacyPickleCheckpoint
    case legacyTarCheckpoint
    case barePickle
    case gitLFSPointer
    case torchScriptArchive(entry: String)
    case zip(ZipError)
    case pickle(UnpicklerError)
    case emptyArchive
    case noPrefixFolder(name: String)
    case entryOutsidePrefix(name: String, prefix: String)
    case compressedRecord(name: String, method: UInt16)
    case recordMissing(name: String)
    case invalidRecord(name: String, reason: String)
    case unsupportedByteOrder(String)
    case unsupportedVersion(Int)
    case storageMissing(key: String)
    case storageSizeMismatch(key: String, expected: Int, actual: Int)
    case shapeOverflow(name: String, shape: [Int])
    case tensorOutOfBounds(name: String, neededBytes: Int, storageBytes: Int)
    case viewLargerThanStorage(name: String, bytes: Int, storageBytes: Int)
    case tensorMissing(name: String, path: String)
    case inFile(path: String, TorchZipError)

    public var description: String {
        let p = "PyTorch checkpoint: "
        switch self {
        case .fileMissing(let path): return "PyTorch checkpoint missing: \(path)"
        case .notACheckpoint(let b):
            return p + "not a torch.save zip archive (starts with \(b.map { String($0, radix: 16) }.joined(separator: " ")); expected 50 4b 03 04)"
        case .legacyPickleCheckpoint:
            return p + "legacy format (torch < 1.6, or torch.save(..., _use_new_zipfile_serialization=False)): a raw pickle stream that cetool does not read; " + TorchZip.conversionHint
        case .legacyTarCheckpoint:
            return p + "legacy tar format (torch < 0.4); cetool does not read it; " + TorchZip.conversionHint
        case .barePickle:
            return p + "a bare pickle, not a torch.save zip archive; cetool never executes pickles; load it in Python and save the state dict with torch.save(state_dict, p2) or as safetensors"
        case .gitLFSPointer:
            return p + "a Git LFS pointer file, not the checkpoint itself; fetch it with `git lfs pull` (or download the file)"
        case .torchScriptArchive(let e):
            return p + "a TorchScript archive (torch.jit.save; has \(e)), not a torch.save state dict; save torch.jit.load(p).state_dict() with torch.save or as safetensors"
        case .zip(let e): return p + e.description
        case .pickle(let e): return p + e.description
        case .emptyArchive: return p + "the zip archive has no entries"
        case .noPrefixFolder(let n): return p + "first entry \"\(displayEscaped(n))\" is not inside a folder (torch.save writes <prefix>/data.pkl)"
        case .entryOutsidePrefix(let n, let pre): return p + "entry \"\(displayEscaped(n))\" is outside the archive folder \"\(pre)/\""
        case .compressedRecord(let n, let m): return p + "record \"\(displayEscaped(n))\" is compressed (method \(m)); torch.save stores records uncompressed"
        case .recordMissing(let n): return p + "record \"\(displayEscaped(n))\" is missing"
        case .invalidRecord(let n, let r): return p + "record \"\(displayEscaped(n))\": \(r)"
        case .unsupportedByteOrder(let b): return p + "byteorder is \"\(b)\"; only little-endian checkpoints are read (re-save on a little-endian machine)"
        case .unsupportedVersion(let v): return p + "archive version \(v) (supported: \(TorchZip.supportedVersions.lowerBound) to \(TorchZip.supportedVersions.upperBound))"
        case .storageMissing(let k): return p + "storage \"\(displayEscaped(k))\" has no data/\(displayEscaped(k)) record"
        case .storageSizeMismatch(let k, let e, let a): return p + "storage \"\(displayEscaped(k))\" should be \(e) bytes (numel × element size) but its record is \(a)"
        case .shapeOverflow(let n, let s): return p + "tensor \"\(displayEscaped(n))\": shape \(s) overflows"
        case .tensorOutOfBounds(let n, let need, let have): return p + "tensor \"\(displayEscaped(n))\" needs \(need) bytes of its storage, which has \(have)"
        case .viewLargerThanStorage(let n, let b, let s): return p + "tensor \"\(displayEscaped(n))\" is a non-contiguous view of \(b) bytes over a \(s)-byte storage (overlapping strides); refused rather than expanded"
        case .tensorMissing(let n, let path): return "tensor \"\(displayEscaped(n))\" not found in \(path)"
        case .inFile(let path, let e): return "\(path): \(e.description)"
        }
    }

    /// The error without file context.
    public var underlying: TorchZipError {
        if case .inFile(_, let e) = self { return e.underlying }
        return self
    }
}

extension String {
    fileprivate var trimmingASCIIWhitespace: String {
        let u = Array(utf8)
        let ws: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        guard let a = u.firstIndex(where: { !ws.contains($0) }), let b = u.lastIndex(where: { !ws.contains($0) }) else { return "" }
        return String(decoding: u[a...b], as: UTF8.self)
    }

    /// The string with control characters and quotes escaped, for messages.
    fileprivate var debugEscaped: String { String(debugDescription.dropFirst().dropLast()) }
}

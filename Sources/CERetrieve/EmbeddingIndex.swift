#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Row encodings of an embedding index (formats/index.md).
public enum IndexPrecision: String, Sendable, CaseIterable {
    /// 4d bytes per row, little-endian IEEE float32.
    case fp32
    /// 2d bytes per row, IEEE half, rounded to nearest even.
    case fp16
    /// d bytes per row, quantize_embeddings' int8 codes under the header's `ranges`.
    case int8
    /// ⌈d/8⌉ bytes per row, np.packbits(x > 0) (first dimension in the high bit).
    case binary

    public func rowBytes(dimension d: Int) -> Int {
        switch self {
        case .fp32: return 4 * d
        case .fp16: return 2 * d
        case .int8: return d
        case .binary: return (d + 7) / 8
        }
    }

    var quantized: Bool { self == .int8 || self == .binary }
}

/// The header of an embedding index, version 1.
public struct EmbeddingIndexHeader: Equatable, Sendable {
    /// 64 lowercase hex digits: the model identity (formats/index.md).
    public var modelSHA256: String
    public var dimension: Int
    public var count: Int
    public var precision: IndexPrecision
    /// int8 only: per-dimension calibration ranges, each of `dimension` floats.
    public var ranges: QuantizationRanges?
    public var normalized: Bool
    public var scoreFunction: ScoreFunction
    /// `count` ids, or nil: ids are 0-based row numbers.
    public var corpusIDs: [String]?
    /// int8/binary only: default oversampling of stage 1, ≥ 1.
    public var rescoreMultiplier: Int?

    public var rowBytes: Int { precision.rowBytes(dimension: dimension) }

    /// The header JSON, keys in the order formats/index.md lists them.
    public var json: String {
        var m: [(String, JSONValue)] = [
            ("model_sha256", .string(modelSHA256)),
            ("dimension", .int(Int64(dimension))),
            ("count", .int(Int64(count))),
            ("precision", .string(precision.rawValue)),
        ]
        if let r = ranges {
            m.append(("ranges", .array([.array(r.minimum.map { .double(Double($0)) }), .array(r.maximum.map { .double(Double($0)) })])))
        }
        m.append(("normalized", .bool(normalized)))
        m.append(("score_function", .string(scoreFunction.rawValue)))
        if let ids = corpusIDs { m.append(("corpus_ids", .array(ids.map { .string($0) }))) }
        if let r = rescoreMultiplier { m.append(("rescore_multiplier", .int(Int64(r)))) }
        return JSONWriter.write(.object(m))
    }
}

/// Layout constants and checked arithmetic of formats/index.md.
public enum EmbeddingIndexLayout {
    public static let magic: [UInt8] = [0x43, 0x45, 0x49, 0x44, 0x58, 0, 0, 1]  // "CEIDX\0\0\1"
    public static let version: UInt32 = 1
    /// Bytes before the header JSON: magic, version, reserved, header_len.
    public static let prefixBytes = 24
    public static let headerCap = 16 << 20
    public static let maxDimension = 1 << 20
    public static let maxCount: Int64 = 1 << 40
    public static let defaultRescoreMultiplier = 2

    /// D = align64(24 + header_len); headerLen ≤ headerCap.
    public static func dataOffset(headerLen: Int) -> Int { (prefixBytes + headerLen + 63) / 64 * 64 }

    /// D + count × rowBytes, refused when it does not fit in Int.
    public static func fileSize(dataOffset: Int, count: Int, rowBytes: Int) throws -> Int {
        let data = count.multipliedReportingOverflow(by: rowBytes)
        guard !data.overflow else { throw IndexError.dataSizeOverflow(count: count, rowBytes: rowBytes) }
        let total = dataOffset.addingReportingOverflow(data.partialValue)
        guard !total.overflow else { throw IndexError.dataSizeOverflow(count: count, rowBytes: rowBytes) }
        return total.partialValue
    }
}

/// Writing an index: rows encoded per precision, the header, the file staged beside its target.
public enum EmbeddingIndexWriter {
    /// The index's bytes. int8 ranges: `ranges`, else quantize_embeddings' rule over `embeddings` (≥ 2 rows).
    /// `rescoreMultiplier` is stored for int8/binary only.
    public static func encode(_ embeddings: Embeddings, precision: IndexPrecision, ranges: QuantizationRanges? = nil,
                              normalized: Bool, scoreFunction: ScoreFunction, corpusIDs: [String]? = nil,
                              rescoreMultiplier: Int = EmbeddingIndexLayout.defaultRescoreMultiplier,
                              modelSHA256: String) throws -> [UInt8] {
        let d = embeddings.dimension
        guard (1...EmbeddingIndexLayout.maxDimension).contains(d) else { throw IndexError.dimensionOutOfRange(Int64(d)) }
        guard Int64(embeddings.count) <= EmbeddingIndexLayout.maxCount else { throw IndexError.countOutOfRange(Int64(embeddings.count)) }
        if let ids = corpusIDs, ids.count != embeddings.count {
            throw IndexError.corpusIDsCount(expected: embeddings.count, got: ids.count)
        }
        guard rescoreMultiplier >= 1 else { throw IndexError.rescoreMultiplierOutOfRange(Int64(rescoreMultiplier)) }
        var resolved: QuantizationRanges?
        if precision == .int8 {
            if let r = ranges, r.minimum.count != d || r.maximum.count != d {
                throw IndexError.rangesShape(dimension: d, detail: "given \(r.minimum.count) minima and \(r.maximum.count) maxima")
            }
            if let r = ranges, !(r.minimum + r.maximum).allSatisfy(\.isFinite) {
                throw IndexError.rangesShape(dimension: d, detail: "a range is not finite")
            }
            do {
                resolved = try QuantizeEmbeddings.resolveRanges(embeddings, ranges: ranges, calibration: nil)
            } catch RetrieveError.rangesFromSingleEmbedding {
                throw IndexError.invalidInput("int8 ranges need explicit ranges or at least two embeddings")
            }
        } else if ranges != nil {
            throw IndexError.keyNotAllowed(key: "ranges", precision: precision.rawValue)
        }
        let header = EmbeddingIndexHeader(
            modelSHA256: modelSHA256, dimension: d, count: embeddings.count, precision: precision, ranges: resolved,
            normalized: normalized, scoreFunction: scoreFunction, corpusIDs: corpusIDs,
            rescoreMultiplier: precision.quantized ? rescoreMultiplier : nil)
        let json = Array(header.json.utf8)
        guard json.count <= EmbeddingIndexLayout.headerCap else {
            throw IndexError.headerTooLong(headerLen: UInt64(json.count), cap: EmbeddingIndexLayout.headerCap, size: 0)
        }
        let dataOffset = EmbeddingIndexLayout.dataOffset(headerLen: json.count)
        let size = try EmbeddingIndexLayout.fileSize(dataOffset: dataOffset, count: embeddings.count, rowBytes: header.rowBytes)
        var out = [UInt8]()
        out.reserveCapacity(size)
        out += EmbeddingIndexLayout.magic
        appendLE(&out, UInt64(EmbeddingIndexLayout.version), bytes: 4)
        appendLE(&out, 0, bytes: 4)
        appendLE(&out, UInt64(json.count), bytes: 8)
        out += json
        out += [UInt8](repeating: 0, count: dataOffset - out.count)
        switch precision {
        case .fp32:
            for v in embeddings.values { appendLE(&out, UInt64(v.bitPattern), bytes: 4) }
        case .fp16:
            for v in embeddings.values { appendLE(&out, UInt64(Float16(v).bitPattern), bytes: 2) }
        case .int8:
            out += try QuantizeEmbeddings.int8(embeddings, ranges: resolved).map { UInt8(bitPattern: $0) }
        case .binary:
            out += QuantizeEmbeddings.ubinary(embeddings)
        }
        precondition(out.count == size)
        return out
    }

    /// `bytes` into `path`: a file created beside it, written, fsynced, then linked into place (refusing an
    /// existing target) or, with `force`, renamed over it; the directory is fsynced after.
    public static func write(_ bytes: [UInt8], to path: String, force: Bool = false) throws {
        if !force, FileManager.default.fileExists(atPath: path) { throw IndexError.alreadyExists(path: path) }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let staged = dir + "/." + url.lastPathComponent + ".staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let w = try FileWriter(creating: staged, displayPath: path)
        defer { unlink(staged) }
        try w.write(bytes)
        try w.finish()
        if force {
            guard rename(staged, path) == 0 else { throw IndexError.cannotRename(path: path, errno: errno) }
        } else {
            guard link(staged, path) == 0 else {
                let e = errno
                if e == EEXIST { throw IndexError.alreadyExists(path: path) }
                throw IndexError.cannotRename(path: path, errno: e)
            }
        }
        let dfd = open(dir, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// `encode` then `write`.
    public static func write(_ embeddings: Embeddings, to path: String, force: Bool = false, precision: IndexPrecision,
                             ranges: QuantizationRanges? = nil, normalized: Bool, scoreFunction: ScoreFunction,
                             corpusIDs: [String]? = nil, rescoreMultiplier: Int = EmbeddingIndexLayout.defaultRescoreMultiplier,
                             modelSHA256: String) throws {
        let bytes = try encode(embeddings, precision: precision, ranges: ranges, normalized: normalized, scoreFunction: scoreFunction,
                               corpusIDs: corpusIDs, rescoreMultiplier: rescoreMultiplier, modelSHA256: modelSHA256)
        try write(bytes, to: path, force: force)
    }

    static func appendLE(_ out: inout [UInt8], _ v: UInt64, bytes n: Int) {
        for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}

/// A validated, mmapped embedding index. Rows live in the mapping; nothing is copied at open.
public final class EmbeddingIndex: @unchecked Sendable {
    public let header: EmbeddingIndexHeader
    /// Byte offset D of row 0 (a multiple of 64).
    public let dataOffset: Int
    private let file: MappedFile

    public init(path: String) throws {
        file = try MappedFile(path: path)
        (header, dataOffset) = try Self.validate(file.bytes)
    }

    /// count × row_bytes bytes, row-major.
    public var data: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[dataOffset..<(dataOffset + header.count * header.rowBytes)])
    }

    /// fp32 / fp16 rows as float32, [count × dimension]; empty for int8 / binary (their codes are `data`).
    public func floatRows() -> [Float] {
        let n = header.count * header.dimension, raw = data
        switch header.precision {
        case .fp32: return (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case .fp16: return (0..<n).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        case .int8, .binary: return []
        }
    }

    /// The id of row `i`: corpus_ids[i], or the row number.
    public func id(ofRow i: Int) -> String { header.corpusIDs?[i] ?? String(i) }

    static let knownKeys: Set<String> = ["model_sha256", "dimension", "count", "precision", "ranges", "normalized",
                                         "score_function", "corpus_ids", "rescore_multiplier"]

    /// Every check of formats/index.md over a whole file's bytes; returns the header and D.
    public static func validate(_ b: UnsafeRawBufferPointer) throws -> (EmbeddingIndexHeader, Int) {
        let size = b.count
        guard size >= EmbeddingIndexLayout.prefixBytes else {
            if size >= 8, !b[0..<8].elementsEqual(EmbeddingIndexLayout.magic) { throw IndexError.wrongMagic(found: Array(b[0..<8])) }
            throw IndexError.truncated(part: "fixed header", needed: EmbeddingIndexLayout.prefixBytes, size: size)
        }
        guard b[0..<8].elementsEqual(EmbeddingIndexLayout.magic) else { throw IndexError.wrongMagic(found: Array(b[0..<8])) }
        let version = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard version == EmbeddingIndexLayout.version else { throw IndexError.unknownVersion(version) }
        let reserved = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard reserved == 0 else { throw IndexError.reservedNotZero(reserved) }
        let hl = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        guard hl <= UInt64(EmbeddingIndexLayout.headerCap), Int(hl) <= size - EmbeddingIndexLayout.prefixBytes else {
            throw IndexError.headerTooLong(headerLen: hl, cap: EmbeddingIndexLayout.headerCap, size: size)
        }
        let headerLen = Int(hl)
        let dataOffset = EmbeddingIndexLayout.dataOffset(headerLen: headerLen)
        guard size >= dataOffset else { throw IndexError.truncated(part: "header padding", needed: dataOffset, size: size) }
        for o in (EmbeddingIndexLayout.prefixBytes + headerLen)..<dataOffset where b[o] != 0 { throw IndexError.paddingNotZero(offset: o) }
        let json: JSONValue
        do {
            json = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: b[EmbeddingIndexLayout.prefixBytes..<(EmbeddingIndexLayout.prefixBytes + headerLen)]),
                                        maxDepth: 4)
        } catch let e as JSONError {
            if case .duplicateKey(let k, _) = e { throw IndexError.duplicateKey(k) }
            throw IndexError.malformedHeader(e)
        }
        let header = try parseHeader(json)
        let expected = try EmbeddingIndexLayout.fileSize(dataOffset: dataOffset, count: header.count, rowBytes: header.rowBytes)
        if size < expected { throw IndexError.truncatedData(expected: expected, size: size) }
        if size > expected { throw IndexError.trailingBytes(expected: expected, size: size) }
        return (header, dataOffset)
    }

    static func parseHeader(_ json: JSONValue) throws -> EmbeddingIndexHeader {
        guard let members = json.objectValue else { throw IndexError.headerNotObject }
        var seen = Set<String>()
        for (k, _) in members {
            guard knownKeys.contains(k) else { throw IndexError.unknownKey(k) }
            guard seen.insert(k).inserted else { throw IndexError.duplicateKey(k) }
        }
        func required(_ k: String) throws -> JSONValue {
            guard let v = json[k] else { throw IndexError.missingKey(k) }
            return v
        }
        func integer(_ k: String) throws -> Int64 {
            guard case .int(let i) = try required(k) else { throw IndexError.badValue(key: k, expected: "an integer") }
            return i
        }
        func string(_ k: String) throws -> String {
            guard let s = try required(k).stringValue else { throw IndexError.badValue(key: k, expected: "a string") }
            return s
        }
        let sha = try string("model_sha256")
        guard sha.utf8.count == 64, sha.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw IndexError.badValue(key: "model_sha256", expected: "64 lowercase hex digits")
        }
        let d64 = try integer("dimension")
        guard (1...Int64(EmbeddingIndexLayout.maxDimension)).contains(d64) else { throw IndexError.dimensionOutOfRange(d64) }
        let c64 = try integer("count")
        guard (0...EmbeddingIndexLayout.maxCount).contains(c64) else { throw IndexError.countOutOfRange(c64) }
        let d = Int(d64), count = Int(c64)
        guard let precision = IndexPrecision(rawValue: try string("precision")) else {
            throw IndexError.badValue(key: "precision", expected: "fp32, fp16, int8 or binary")
        }
        var ranges: QuantizationRanges?
        if precision == .int8 {
            ranges = try parseRanges(try required("ranges"), dimension: d)
        } else if json["ranges"] != nil {
            throw IndexError.keyNotAllowed(key: "ranges", precision: precision.rawValue)
        }
        guard let normalized = try required("normalized").boolValue else { throw IndexError.badValue(key: "normalized", expected: "true or false") }
        guard let fn = ScoreFunction(rawValue: try string("score_function")) else {
            throw IndexError.badValue(key: "score_function", expected: "cos or dot")
        }
        var ids: [String]?
        if let v = json["corpus_ids"] {
            guard let a = v.arrayValue else { throw IndexError.badValue(key: "corpus_ids", expected: "an array of strings") }
            guard a.count == count else { throw IndexError.corpusIDsCount(expected: count, got: a.count) }
            ids = try a.map {
                guard let s = $0.stringValue else { throw IndexError.badValue(key: "corpus_ids", expected: "an array of strings") }
                return s
            }
        }
        var multiplier: Int?
        if precision.quantized {
            let m = try integer("rescore_multiplier")
            guard m >= 1, m <= Int64(Int32.max) else { throw IndexError.rescoreMultiplierOutOfRange(m) }
            multiplier = Int(m)
        } else if json["rescore_multiplier"] != nil {
            throw IndexError.keyNotAllowed(key: "rescore_multiplier", precision: precision.rawValue)
        }
        return EmbeddingIndexHeader(modelSHA256: sha, dimension: d, count: count, precision: precision, ranges: ranges,
                                    normalized: normalized, scoreFunction: fn, corpusIDs: ids, rescoreMultiplier: multiplier)
    }

    /// [[min × d], [max × d]]: numbers that are float32 values (the writer stores them exactly).
    static func parseRanges(_ v: JSONValue, dimension d: Int) throws -> QuantizationRanges {
        guard let outer = v.arrayValue else { throw IndexError.rangesShape(dimension: d, detail: "not an array") }
        guard outer.count == 2 else { throw IndexError.rangesShape(dimension: d, detail: "\(outer.count) rows") }
        var rows = [[Float]]()
        for (i, r) in outer.enumerated() {
            guard let a = r.arrayValue else { throw IndexError.rangesShape(dimension: d, detail: "row \(i) is not an array") }
            guard a.count == d else { throw IndexError.rangesShape(dimension: d, detail: "row \(i) has \(a.count) values") }
            rows.append(try a.enumerated().map { t, x in
                guard let f = x.doubleValue else { throw IndexError.rangesShape(dimension: d, detail: "row \(i) value \(t) is not a number") }
                return Float(f)
            })
        }
        return QuantizationRanges(minimum: rows[0], maximum: rows[1])
    }
}

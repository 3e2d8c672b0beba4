#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CECore

/// Why an embedding index (formats/index.md) was refused, read or written.
public enum IndexError: Error, Equatable, CustomStringConvertible {
    /// The file ends before a part the layout requires (`needed` bytes, the file has `size`).
    case truncated(part: String, needed: Int, size: Int)
    /// Bytes 0..<8 are not "CEIDX\0\0\1".
    case wrongMagic(found: [UInt8])
    /// A version this reader does not know.
    case unknownVersion(UInt32)
    /// The reserved u32 at offset 12 is not 0.
    case reservedNotZero(UInt32)
    /// header_len above the cap, or running past the end of the file.
    case headerTooLong(headerLen: UInt64, cap: Int, size: Int)
    /// The header is not valid JSON (the parser's error, offsets within the header).
    case malformedHeader(JSONError)
    /// The header JSON is not an object.
    case headerNotObject
    /// A header key this version does not define.
    case unknownKey(String)
    /// A header key given twice.
    case duplicateKey(String)
    /// A required header key is absent.
    case missingKey(String)
    /// A key that the precision does not allow (`ranges` without int8, `rescore_multiplier` with fp32/fp16).
    case keyNotAllowed(key: String, precision: String)
    /// A header value of the wrong JSON type or outside its enumeration.
    case badValue(key: String, expected: String)
    /// `dimension` outside 1…1,048,576.
    case dimensionOutOfRange(Int64)
    /// `count` outside 0…2^40.
    case countOutOfRange(Int64)
    /// `rescore_multiplier` below 1.
    case rescoreMultiplierOutOfRange(Int64)
    /// count × row_bytes (+ the data offset) does not fit in Int.
    case dataSizeOverflow(count: Int, rowBytes: Int)
    /// The file is shorter than D + count × row_bytes.
    case truncatedData(expected: Int, size: Int)
    /// The file is longer than D + count × row_bytes.
    case trailingBytes(expected: Int, size: Int)
    /// A padding byte between the header and the data that is not zero.
    case paddingNotZero(offset: Int)
    /// `ranges` not [[min × d], [max × d]] of numbers.
    case rangesShape(dimension: Int, detail: String)
    /// `corpus_ids` with a number of ids other than `count`.
    case corpusIDsCount(expected: Int, got: Int)
    /// Writer input: embeddings of a width other than the index's, or an argument outside its domain.
    case invalidInput(String)
    /// The target exists and overwriting was not asked for.
    case alreadyExists(path: String)
    /// The staged file could not be moved to its target.
    case cannotRename(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .truncated(let p, let n, let s): return "index truncated: the \(p) needs \(n) bytes, the file has \(s)"
        case .wrongMagic(let f): return "not a cetool embedding index: magic \(f.map { String($0, radix: 16) }.joined(separator: " "))"
        case .unknownVersion(let v): return "unknown index version \(v) (this build reads version 1)"
        case .reservedNotZero(let v): return "index reserved field is \(v), not 0"
        case .headerTooLong(let l, let c, let s): return "index header_len \(l) exceeds the cap \(c) or the file size \(s)"
        case .malformedHeader(let e): return "index header is not valid JSON: \(e)"
        case .headerNotObject: return "index header is not a JSON object"
        case .unknownKey(let k): return "unknown index header key \(JSONWriter.quote(k))"
        case .duplicateKey(let k): return "index header key \(JSONWriter.quote(k)) given twice"
        case .missingKey(let k): return "index header lacks \(k)"
        case .keyNotAllowed(let k, let p): return "index header key \(k) is not allowed with precision \(p)"
        case .badValue(let k, let e): return "index header \(k): expected \(e)"
        case .dimensionOutOfRange(let d): return "index dimension \(d) outside 1...1048576"
        case .countOutOfRange(let c): return "index count \(c) outside 0...2^40"
        case .rescoreMultiplierOutOfRange(let m): return "index rescore_multiplier \(m) is below 1"
        case .dataSizeOverflow(let c, let r): return "index data size \(c) x \(r) bytes does not fit"
        case .truncatedData(let e, let s): return "index truncated: count x row_bytes needs a file of \(e) bytes, it has \(s)"
        case .trailingBytes(let e, let s): return "index has trailing bytes: expected \(e) bytes, the file has \(s)"
        case .paddingNotZero(let o): return "index header padding byte at \(o) is not zero"
        case .rangesShape(let d, let detail): return "index ranges must be [[min x \(d)], [max x \(d)]]: \(detail)"
        case .corpusIDsCount(let e, let g): return "index corpus_ids has \(g) ids for \(e) rows"
        case .invalidInput(let m): return "cannot build index: \(m)"
        case .alreadyExists(let p): return "\(p) exists (use --force to overwrite)"
        case .cannotRename(let p, let e): return "cannot move the index into \(p): \(String(cString: strerror(e)))"
        }
    }
}

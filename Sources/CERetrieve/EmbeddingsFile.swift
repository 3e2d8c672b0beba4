import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Why an embeddings file (`cetool index build --embeddings`, `cetool search --query-embeddings`) was refused.
public enum EmbeddingsFileError: Error, Equatable, CustomStringConvertible {
    /// A .npy file whose magic, version or header does not parse (what was wrong, in words).
    case malformedNpy(String)
    /// A .npy dtype other than little-endian float32 ('<f4'), or Fortran order.
    case unsupportedNpy(String)
    /// The data is not rows × dimension float32 values (`size` bytes of data).
    case sizeMismatch(expected: String, size: Int)
    /// The rows do not have the model's width.
    case dimensionMismatch(file: Int, model: Int)
    /// A value that is NaN or infinite.
    case notFinite(row: Int, column: Int)
    /// A row whose L2 norm is not 1 (within 1e-3) where the model L2-normalizes its embeddings.
    case notNormalized(row: Int, norm: Double)
    /// No rows.
    case empty

    public var description: String {
        switch self {
        case .malformedNpy(let r): return "not a .npy file: \(r)"
        case .unsupportedNpy(let r): return "unsupported .npy array: \(r) (2-D little-endian float32, C order, is read)"
        case .sizeMismatch(let e, let s): return "\(s) bytes of data are not \(e) float32 values"
        case .dimensionMismatch(let f, let m): return "the file's rows have \(f) dimensions; the model embeds in \(m)"
        case .notFinite(let r, let c): return "row \(r), dimension \(c) is not a finite number"
        case .notNormalized(let r, let n):
            return "row \(r) has L2 norm \(n): the model L2-normalizes its embeddings (Normalize module), so an index of its rows must hold normalized rows"
        case .empty: return "the file holds no embeddings"
        }
    }
}

/// Embeddings stored by other tools: a NumPy .npy file (format 1.0/2.0/3.0) of a 2-D '<f4' C-order array [n, d], or
/// raw little-endian float32 rows of a known width (numpy's `tofile`).
public enum EmbeddingsFile {
    static let npyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    static let npyHeaderCap = 1 << 16

    /// Reads `bytes`: .npy when they start with its magic, else raw float32 rows of `dimension` values.
    /// Refuses a width other than `dimension`, non-finite values, and (with `normalized`) rows whose norm is not 1 ± 1e-3.
    public static func read(_ bytes: UnsafeRawBufferPointer, dimension: Int, normalized: Bool = false) throws -> Embeddings {
        let (data, d) = bytes.count >= 6 && bytes[0..<6].elementsEqual(npyMagic) ? try npyData(bytes) : (bytes, dimension)
        guard d == dimension else { throw EmbeddingsFileError.dimensionMismatch(file: d, model: dimension) }
        guard d > 0, data.count % (4 * d) == 0 else { throw EmbeddingsFileError.sizeMismatch(expected: "rows of \(d)", size: data.count) }
        let n = data.count / (4 * d)
        guard n > 0 else { throw EmbeddingsFileError.empty }
        var values = [Float](repeating: 0, count: n * d)
        for i in 0..<(n * d) {
            let v = Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            guard v.isFinite else { throw EmbeddingsFileError.notFinite(row: i / d, column: i % d) }
            values[i] = v
        }
        if normalized {
            for r in 0..<n {
                var ss = 0.0
                for t in 0..<d { ss += Double(values[r * d + t]) * Double(values[r * d + t]) }
                guard abs(ss.squareRoot() - 1) <= 1e-3 else { throw EmbeddingsFileError.notNormalized(row: r, norm: ss.squareRoot()) }
            }
        }
        return try Embeddings(count: n, dimension: d, values: values)
    }

    /// `read` of a file's bytes (mapped, not copied, before decoding).
    public static func load(path: String, dimension: Int, normalized: Bool = false) throws -> Embeddings {
        let f = try MappedFile(path: path)
        return try read(f.bytes, dimension: dimension, normalized: normalized)
    }

    /// The data bytes and the width of a .npy file's array (shape (n, d), or (d,) for one row).
    static func npyData(_ b: UnsafeRawBufferPointer) throws -> (UnsafeRawBufferPointer, Int) {
        guard b.count >= 10 else { throw EmbeddingsFileError.malformedNpy("truncated before the header length") }
        let major = b[6]
        let lenBytes: Int
        switch major {
        case 1: lenBytes = 2
        case 2, 3: lenBytes = 4
        default: throw EmbeddingsFileError.malformedNpy("format version \(major).\(b[7])")
        }
        guard b.count >= 8 + lenBytes else { throw EmbeddingsFileError.malformedNpy("truncated before the header length") }
        var hl = 0
        for i in 0..<lenBytes { hl |= Int(b[8 + i]) << (8 * i) }
        let start = 8 + lenBytes
        guard hl <= npyHeaderCap, start + hl <= b.count else { throw EmbeddingsFileError.malformedNpy("header length \(hl) past the end of the file") }
        guard let header = String(bytes: b[start..<(start + hl)], encoding: .utf8) else { throw EmbeddingsFileError.malformedNpy("header is not text") }
        let fields = try npyHeader(header)
        guard fields.descr == "<f4" else { throw EmbeddingsFileError.unsupportedNpy("dtype \(fields.descr)") }
        guard !fields.fortranOrder else { throw EmbeddingsFileError.unsupportedNpy("Fortran order") }
        let shape = fields.shape
        guard shape.count == 1 || shape.count == 2, let d = shape.last else { throw EmbeddingsFileError.unsupportedNpy("shape \(shape)") }
        let n = shape.count == 2 ? shape[0] : 1
        let data = UnsafeRawBufferPointer(rebasing: b[(start + hl)...])
        let expected = n.multipliedReportingOverflow(by: d)
        guard !expected.overflow, !expected.partialValue.multipliedReportingOverflow(by: 4).overflow,
              expected.partialValue * 4 == data.count else {
            throw EmbeddingsFileError.sizeMismatch(expected: "\(n) × \(d)", size: data.count)
        }
        return (data, d)
    }

    /// The header dict `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }` (numpy.lib.format's writer).
    static func npyHeader(_ s: String) throws -> (descr: String, fortranOrder: Bool, shape: [Int]) {
        func value(_ key: String) throws -> Substring {
            guard let r = s.range(of: "'\(key)':") else { throw EmbeddingsFileError.malformedNpy("no '\(key)' in the header") }
            return s[r.upperBound...].drop { $0 == " " }
        }
        let d = try value("descr")
        guard d.first == "'", let close = d.dropFirst().firstIndex(of: "'") else { throw EmbeddingsFileError.malformedNpy("descr is not a string") }
        let descr = String(d[d.index(after: d.startIndex)..<close])
        let f = try value("fortran_order")
        guard f.hasPrefix("True") || f.hasPrefix("False") else { throw EmbeddingsFileError.malformedNpy("fortran_order is not a bool") }
        let sh = try value("shape")
        guard sh.first == "(", let end = sh.firstIndex(of: ")") else { throw EmbeddingsFileError.malformedNpy("shape is not a tuple") }
        let parts = sh[sh.index(after: sh.startIndex)..<end].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try parts.map { p -> Int in
            guard let v = Int(p), v >= 0 else { throw EmbeddingsFileError.malformedNpy("shape entry \(p)") }
            return v
        }
        return (descr, f.hasPrefix("True"), shape)
    }
}

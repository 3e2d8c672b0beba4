import CECore

/// The safetensors format (formats/safetensors.md): an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON, then the tensor data. Validated as the reference Rust reader does, and stricter where noted.
public enum Safetensors {
    /// Largest header accepted, as the reference reader (100,000,000 bytes).
    public static let maxHeaderSize = 100_000_000
    /// Most tensors accepted in one file.
    public static let maxTensorCount = 1_000_000

    /// One tensor's entry: dtype, shape and its byte range within the data section.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var dtype: DType
        public var shape: Shape
        /// Byte range relative to the start of the data section.
        public var begin: Int
        public var end: Int
    }

    /// Safetensors dtype string -> DType. Safetensors: BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64.
    public static func dtype(named s: String) -> DType? {
        switch s {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        case "F64": return .f64
        case "I64": return .i64
        case "I32": return .i32
        case "I16": return .i16
        case "I8": return .i8
        case "U64": return .u64
        case "U32": return .u32
        case "U16": return .u16
        case "U8": return .u8
        case "BOOL": return .bool
        default: return nil
        }
    }

    /// DType -> safetensors dtype string.
    public static func name(of d: DType) -> String {
        switch d {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i64: return "I64"
        case .i32: return "I32"
        case .i16: return "I16"
        case .i8: return "I8"
        case .u64: return "U64"
        case .u32: return "U32"
        case .u16: return "U16"
        case .u8: return "U8"
        case .bool: return "BOOL"
        }
    }

    /// A parsed and validated header.
    public struct Header: Sendable {
        /// Entries in data order (ascending offsets).
        public var entries: [Entry]
        public var metadata: [(String, String)]
        /// Absolute offset of the data section in the file (8 + N).
        public var dataOffset: Int
    }

    /// Parses and validates the header of a whole safetensors file held in `bytes`.
    public static func readHeader(_ bytes: UnsafeRawBufferPointer) throws -> Header {
        var r = ByteReader(bytes)
        guard bytes.count >= 8 else { throw SafetensorsError.fileTooSmall(size: bytes.count) }
        let n64 = try r.readUInt64LE()
        guard n64 <= UInt64(maxHeaderSize) else { throw SafetensorsError.headerTooLarge(length: n64, limit: maxHeaderSize) }
        let n = Int(n64)
        guard n <= r.remaining else {
            throw SafetensorsError.headerLongerThanFile(length: n, available: r.remaining)
        }
        let headerBytes = try r.readBytes(n)
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw SafetensorsError.headerNotUTF8 }
        guard n > 0, headerBytes[0] == UInt8(ascii: "{") else { throw SafetensorsError.headerNotAnObject }
        let json: JSONValue
        do {
            json = try JSONParser.parse(headerBytes, maxDepth: 8)
        } catch let e as JSONError {
            throw SafetensorsError.headerNotJSON(e.description)
        }
        guard case .object(let members) = json else { throw SafetensorsError.headerNotAnObject }
        guard members.count <= maxTensorCount + 1 else { throw SafetensorsError.tooManyTensors(count: members.count, limit: maxTensorCount) }

        var entries: [Entry] = []
        var metadata: [(String, String)] = []
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let kv) = value else { throw SafetensorsError.invalidMetadata(reason: "__metadata__ is not an object") }
                for (k, v) in kv {
                    guard let s = v.stringValue else { throw SafetensorsError.invalidMetadata(reason: "value of \"\(k)\" is not a string") }
                    metadata.append((k, s))
                }
                continue
            }
            entries.append(try entry(name: name, value))
        }

        // Offsets must tile the data section exactly: sorted by begin, each begins where the last ended.
        let dataSize = r.remaining
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        for e in entries {
            guard e.begin == expected else {
                throw SafetensorsError.offsetsNotContiguous(name: e.name, begin: e.begin, expected: expected)
            }
            expected = e.end
        }
        guard expected == dataSize else {
            throw SafetensorsError.dataSizeMismatch(covered: expected, dataSize: dataSize)
        }
        return Header(entries: entries, metadata: metadata, dataOffset: 8 + n)
    }

    private static func entry(name: String, _ value: JSONValue) throws -> Entry {
        guard case .object = value else { throw SafetensorsError.invalidEntry(name: name, reason: "not an object") }
        for (k, _) in value.objectValue! where !["dtype", "shape", "data_offsets"].contains(k) {
            throw SafetensorsError.invalidEntry(name: name, reason: "unknown field \"\(k)\"")
        }
        guard let ds = value["dtype"]?.stringValue else { throw SafetensorsError.invalidEntry(name: name, reason: "dtype missing or not a string") }
        guard let dtype = dtype(named: ds) else { throw SafetensorsError.unknownDType(name: name, dtype: ds) }
        guard let shapeValues = value["shape"]?.arrayValue else { throw SafetensorsError.invalidEntry(name: name, reason: "shape missing or not an array") }
        guard shapeValues.count <= 16 else { throw SafetensorsError.invalidEntry(name: name, reason: "rank \(shapeValues.count) above 16") }
        var dims: [Int] = []
        for d in shapeValues {
            guard let v = d.intValue, v >= 0 else { throw SafetensorsError.invalidEntry(name: name, reason: "shape has a non-integer or negative dimension") }
            dims.append(v)
        }
        guard let offs = value["data_offsets"]?.arrayValue, offs.count == 2,
              let begin = offs[0].intValue, let end = offs[1].intValue, begin >= 0, end >= 0 else {
            throw SafetensorsError.invalidEntry(name: name, reason: "data_offsets must be two non-negative integers")
        }
        guard begin <= end else { throw SafetensorsError.invalidEntry(name: name, reason: "data_offsets end \(end) before begin \(begin)") }
        let shape = Shape(dims)
        guard let count = shape.checkedElementCount else { throw SafetensorsError.shapeOverflow(name: name, shape: dims) }
        let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o else { throw SafetensorsError.shapeOverflow(name: name, shape: dims) }
        guard bytes == end - begin else {
            throw SafetensorsError.sizeMismatch(name: name, expected: bytes, actual: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// A memory-mapped safetensors file with a validated header; tensors are views into the mapping.
    public final class File: @unchecked Sendable {
        public let path: String
        public let header: Header
        private let mapping: MappedFile
        private let index: [String: Int]

        public init(path: String) throws {
            let m: MappedFile
            do {
                m = try MappedFile(path: path)
            } catch let e as FileError {
                if case .notFound = e { throw SafetensorsError.fileMissing(path: path) }
                throw e
            }
            mapping = m
            self.path = path
            do {
                header = try Safetensors.readHeader(m.bytes)
            } catch let e as SafetensorsError {
                throw SafetensorsError.inFile(path: path, e)
            }
            var idx: [String: Int] = [:]
            for (i, e) in header.entries.enumerated() { idx[e.name] = i }
            index = idx
        }

        public var names: [String] { header.entries.map(\.name) }

        public func entry(_ name: String) -> Entry? { index[name].map { header.entries[$0] } }

        /// The tensor named `name`, a view into the mapping.
        public func tensor(_ name: String) throws -> Tensor {
            guard let e = entry(name) else { throw SafetensorsError.tensorMissing(name: name, path: path) }
            return Safetensors.view(e, of: header, in: mapping.bytes, owner: mapping)
        }
    }

    /// The tensor of `entry`, a view into `bytes` (the whole file `header` was read from, kept alive by `owner`).
    public static func view(_ entry: Entry, of header: Header, in bytes: UnsafeRawBufferPointer, owner: AnyObject) -> Tensor {
        let start = header.dataOffset + entry.begin
        let view = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + (entry.end - entry.begin))])
        return Tensor(dtype: entry.dtype, shape: entry.shape, storage: TensorStorage(view: view, owner: owner))
    }
}

public indirect enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case fileMissing(path: String)
    case fileTooSmall(size: Int)
    case headerTooLarge(length: UInt64, limit: Int)
    case headerLongerThanFile(length: Int, available: Int)
    case headerNotUTF8
    case headerNotJSON(String)
    case headerNotAnObject
    case invalidMetadata(reason: String)
    case tooManyTensors(count: Int, limit: Int)
    case invalidEntry(name: String, reason: String)
    case unknownDType(name: String, dtype: String)
    case shapeOverflow(name: String, shape: [Int])
    case sizeMismatch(name: String, expected: Int, actual: Int)
    case offsetsNotContiguous(name: String, begin: Int, expected: Int)
    case dataSizeMismatch(covered: Int, dataSize: Int)
    case tensorMissing(name: String, path: String)
    case inFile(path: String, SafetensorsError)

    public var description: String {
        switch self {
        case .fileMissing(let p): return "safetensors file missing: \(p)"
        case .fileTooSmall(let s): return "safetensors file is \(s) bytes, smaller than its 8-byte header length (truncated?)"
        case .headerTooLarge(let l, let cap): return "safetensors header length \(l) exceeds the limit of \(cap) bytes"
        case .headerLongerThanFile(let l, let a): return "safetensors header length \(l) is longer than the \(a) bytes that follow (truncated file?)"
        case .headerNotUTF8: return "safetensors header is not valid UTF-8"
        case .headerNotJSON(let why): return "safetensors header is not valid JSON: \(why)"
        case .headerNotAnObject: return "safetensors header is not a JSON object"
        case .invalidMetadata(let r): return "safetensors __metadata__ invalid: \(displayEscaped(r))"
        case .tooManyTensors(let c, let l): return "safetensors header lists \(c) tensors, above the limit of \(l)"
        case .invalidEntry(let n, let r): return "safetensors tensor \"\(displayEscaped(n))\": \(displayEscaped(r))"
        case .unknownDType(let n, let d): return "safetensors tensor \"\(displayEscaped(n))\" has unknown dtype \"\(displayEscaped(d))\""
        case .shapeOverflow(let n, let s): return "safetensors tensor \"\(displayEscaped(n))\": shape \(s) overflows"
        case .sizeMismatch(let n, let e, let a): return "safetensors tensor \"\(displayEscaped(n))\": shape and dtype need \(e) bytes, data_offsets span \(a)"
        case .offsetsNotContiguous(let n, let b, let e): return "safetensors tensor \"\(displayEscaped(n))\" begins at \(b), expected \(e) (gap or overlap)"
        case .dataSizeMismatch(let c, let d): return "safetensors tensors cover \(c) bytes but the data section has \(d) (truncated or trailing bytes)"
        case .tensorMissing(let n, let p): return "tensor \"\(displayEscaped(n))\" not found in \(p)"
        case .inFile(let p, let e): return "\(p): \(e.description)"
        }
    }

    /// The error without file context.
    public var underlying: SafetensorsError {
        if case .inFile(_, let e) = self { return e.underlying }
        return self
    }
}

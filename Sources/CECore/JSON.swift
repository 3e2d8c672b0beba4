/// A JSON value. Objects keep their member order; duplicate keys are refused by the parser.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integral literal that fits in Int64.
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0.utf8.elementsEqual($1.0.utf8) && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Member `key` of an object, keys compared byte for byte (Swift's String == is canonical
    /// equivalence and would merge "é" with "e" + U+0301); the last one when a lenient parse kept
    /// duplicates, as serde_json and Python do.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self {
            for (k, v) in members.reversed() where k.utf8.elementsEqual(key.utf8) { return v }
        }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// Integral value; doubles count only when integral and in range.
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .double(let d): return d.isFinite && d == d.rounded() && abs(d) < 9.0e15 ? Int(d) : nil
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

public enum JSONError: Error, Equatable, CustomStringConvertible {
    case unexpectedEnd(offset: Int)
    case unexpectedByte(offset: Int, byte: UInt8)
    case invalidUTF8(offset: Int)
    case invalidEscape(offset: Int)
    case invalidNumber(offset: Int)
    case duplicateKey(String, offset: Int)
    case tooDeep(limit: Int, offset: Int)
    case trailingBytes(offset: Int)

    /// The same error with its offset moved by `delta` (an error in a slice, reported against the whole).
    public func shifted(by delta: Int) -> JSONError {
        switch self {
        case .unexpectedEnd(let o): return .unexpectedEnd(offset: o + delta)
        case .unexpectedByte(let o, let b): return .unexpectedByte(offset: o + delta, byte: b)
        case .invalidUTF8(let o): return .invalidUTF8(offset: o + delta)
        case .invalidEscape(let o): return .invalidEscape(offset: o + delta)
        case .invalidNumber(let o): return .invalidNumber(offset: o + delta)
        case .duplicateKey(let k, let o): return .duplicateKey(k, offset: o + delta)
        case .tooDeep(let l, let o): return .tooDeep(limit: l, offset: o + delta)
        case .trailingBytes(let o): return .trailingBytes(offset: o + delta)
        }
    }

    public var description: String {
        switch self {
        case .unexpectedEnd(let o): return "JSON ends early at byte \(o)"
        case .unexpectedByte(let o, let b): return "unexpected byte 0x\(String(b, radix: 16)) at \(o)"
        case .invalidUTF8(let o): return "invalid UTF-8 in a JSON string at byte \(o)"
        case .invalidEscape(let o): return "invalid escape in a JSON string at byte \(o)"
        case .invalidNumber(let o): return "invalid JSON number at byte \(o)"
        case .duplicateKey(let k, let o): return "duplicate JSON key \"\(k)\" at byte \(o)"
        case .tooDeep(let l, let o): return "JSON nested deeper than \(l) at byte \(o)"
        case .trailingBytes(let o): return "bytes after the JSON value at \(o)"
        }
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes: depth cap, no trailing bytes but whitespace, duplicate
/// keys refused (or, with `lastKeyWins`, kept in order with lookups taking the last, as serde_json and
/// Python read files such as tokenizer.json). Keys are compared byte for byte. A UTF-8 byte order mark
/// is skipped.
public struct JSONParser {
    public static let defaultMaxDepth = 128

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth, lastKeyWins: Bool = false) throws -> JSONValue {
        var p = JSONParser(bytes: bytes, maxDepth: maxDepth, lastKeyWins: lastKeyWins)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { p.i = 3 }
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        guard p.i == bytes.count else { throw JSONError.trailingBytes(offset: p.i) }
        return v
    }

    /// As `parse`, except that the value of the member at `path` (object keys from the top level) is not
    /// built: its structure is checked and it reads as null in the tree, its bytes are returned as a range
    /// for the caller to parse on its own terms (`forEachMember`, or `parse` of the slice). Its strings are
    /// scanned only for where they end, so the caller must parse the range to have it fully checked. A
    /// path that names a member twice (a repeated key on the way) is refused as a duplicate key, even with
    /// `lastKeyWins`: which occurrence the caller should read would otherwise be a guess.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth, lastKeyWins: Bool = false,
                             deferring path: [String]) throws -> (value: JSONValue, deferred: Range<Int>?) {
        var p = JSONParser(bytes: bytes, maxDepth: maxDepth, lastKeyWins: lastKeyWins)
        p.deferPath = path.map { Array($0.utf8) }
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { p.i = 3 }
        p.skipWhitespace()
        let v = try p.value(depth: 0, onPath: !path.isEmpty)
        p.skipWhitespace()
        guard p.i == bytes.count else { throw JSONError.trailingBytes(offset: p.i) }
        return (v, p.deferred)
    }

    /// Reads the object that spans `range` of `bytes` member by member without building it: each key as
    /// its UTF-8 bytes (escapes decoded, validated), each value built as usual. Offsets in errors are
    /// offsets into `bytes`. Repeated keys are passed on as they come (the caller decides which wins).
    /// This is how a 30k-entry vocabulary is read without a String and a tree node per entry.
    public static func forEachMember(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, maxDepth: Int = defaultMaxDepth,
                                     _ body: (UnsafeRawBufferPointer, JSONValue) throws -> Void) throws {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { throw JSONError.unexpectedEnd(offset: bytes.count) }
        var p = JSONParser(bytes: UnsafeRawBufferPointer(rebasing: bytes[..<range.upperBound]), maxDepth: maxDepth, lastKeyWins: true)
        p.i = range.lowerBound
        p.skipWhitespace()
        guard try p.peek() == UInt8(ascii: "{") else { throw JSONError.unexpectedByte(offset: p.i, byte: p.b[p.i]) }
        p.i += 1
        p.skipWhitespace()
        if try p.peek() == UInt8(ascii: "}") {
            p.i += 1
        } else {
            var scratch: [UInt8] = []
            while true {
                p.skipWhitespace()
                guard try p.peek() == UInt8(ascii: "\"") else { throw JSONError.unexpectedByte(offset: p.i, byte: p.b[p.i]) }
                let key = try p.keyBytes(scratch: &scratch)
                p.skipWhitespace()
                guard try p.peek() == UInt8(ascii: ":") else { throw JSONError.unexpectedByte(offset: p.i, byte: p.b[p.i]) }
                p.i += 1
                p.skipWhitespace()
                let value = try p.value(depth: 1)
                if let key {
                    try body(key, value)
                } else {
                    try scratch.withUnsafeBytes { try body($0, value) }
                }
                p.skipWhitespace()
                let c = try p.peek()
                p.i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == UInt8(ascii: "}") { break }
                throw JSONError.unexpectedByte(offset: p.i - 1, byte: c)
            }
        }
        p.skipWhitespace()
        guard p.i == range.upperBound else { throw JSONError.trailingBytes(offset: p.i) }
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth, lastKeyWins: Bool = false) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0, maxDepth: maxDepth, lastKeyWins: lastKeyWins) }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth, lastKeyWins: Bool = false) throws -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth, lastKeyWins: lastKeyWins)
    }

    private let b: UnsafeRawBufferPointer
    private let maxDepth: Int
    private let lastKeyWins: Bool
    private var i = 0
    /// `parse(_:deferring:)`: the key path whose value is skipped, and where that value was.
    private var deferPath: [[UInt8]] = []
    private var deferred: Range<Int>?

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int, lastKeyWins: Bool) {
        self.b = bytes
        self.maxDepth = maxDepth
        self.lastKeyWins = lastKeyWins
    }

    private mutating func skipWhitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private func peek() throws -> UInt8 {
        guard i < b.count else { throw JSONError.unexpectedEnd(offset: i) }
        return b[i]
    }

    private mutating func expect(_ literal: StaticString) throws {
        let n = literal.utf8CodeUnitCount
        guard i + n <= b.count else { throw JSONError.unexpectedEnd(offset: b.count) }
        let lit = UnsafeRawBufferPointer(start: literal.utf8Start, count: n)
        for k in 0..<n where b[i + k] != lit[k] { throw JSONError.unexpectedByte(offset: i + k, byte: b[i + k]) }
        i += n
    }

    /// `onPath`: this value is the object at depth `depth` of `deferPath` (every key above it matched).
    private mutating func value(depth: Int, onPath: Bool = false) throws -> JSONValue {
        guard depth < maxDepth else { throw JSONError.tooDeep(limit: maxDepth, offset: i) }
        switch try peek() {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, JSONValue)] = []
            var keyOffsets: [Int] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipWhitespace()
                let keyOffset = i
                guard try peek() == UInt8(ascii: "\"") else { throw JSONError.unexpectedByte(offset: i, byte: b[i]) }
                let key = try string()
                // Small objects are checked for a repeated key as they are read; large ones (a vocabulary
                // of 30k+ entries) once complete, against a set sized for them in one allocation.
                if !lastKeyWins {
                    if members.count < Self.scanLimit {
                        if members.contains(where: { $0.0.utf8.elementsEqual(key.utf8) }) { throw JSONError.duplicateKey(key, offset: keyOffset) }
                    } else {
                        keyOffsets.append(keyOffset)
                    }
                }
                skipWhitespace()
                guard try peek() == UInt8(ascii: ":") else { throw JSONError.unexpectedByte(offset: i, byte: b[i]) }
                i += 1
                skipWhitespace()
                if onPath, key.utf8.elementsEqual(deferPath[depth]) {
                    if depth + 1 == deferPath.count {
                        guard deferred == nil else { throw JSONError.duplicateKey(key, offset: keyOffset) }
                        let start = i
                        try skipValue(depth: depth + 1)
                        deferred = start..<i
                        members.append((key, .null))
                    } else {
                        // A second object on the path would hold a second deferred value, or none.
                        if members.contains(where: { $0.0.utf8.elementsEqual(key.utf8) }) {
                            throw JSONError.duplicateKey(key, offset: keyOffset)
                        }
                        members.append((key, try value(depth: depth + 1, onPath: true)))
                    }
                } else {
                    members.append((key, try value(depth: depth + 1)))
                }
                skipWhitespace()
                let c = try peek()
                i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == UInt8(ascii: "}") {
                    if !keyOffsets.isEmpty { try checkDistinct(members, keyOffsets: keyOffsets) }
                    return .object(members)
                }
                throw JSONError.unexpectedByte(offset: i - 1, byte: c)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if try peek() == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                let c = try peek()
                i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == UInt8(ascii: "]") { return .array(items) }
                throw JSONError.unexpectedByte(offset: i - 1, byte: c)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        case let c:
            throw JSONError.unexpectedByte(offset: i, byte: c)
        }
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        var integral = true
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw JSONError.invalidNumber(offset: start) }
        if b[i] == 0x30 {
            i += 1
        } else {
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            let d = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > d else { throw JSONError.invalidNumber(offset: start) }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let d = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > d else { throw JSONError.invalidNumber(offset: start) }
        }
        if integral, i - start <= 18 {
            // at most 18 characters: the value fits in Int64 without the text round trip
            var v: Int64 = 0
            for c in b[(b[start] == UInt8(ascii: "-") ? start + 1 : start)..<i] { v = v * 10 + Int64(c - 0x30) }
            return .int(b[start] == UInt8(ascii: "-") ? -v : v)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        if integral, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw JSONError.invalidNumber(offset: start) }
        return .double(d)
    }

    /// Steps over one value, checking its structure (brackets, separators, literals, numbers) but not what
    /// its strings hold; see `parse(_:deferring:)`.
    private mutating func skipValue(depth: Int) throws {
        guard depth < maxDepth else { throw JSONError.tooDeep(limit: maxDepth, offset: i) }
        switch try peek() {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = b[i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            i += 1
            skipWhitespace()
            if try peek() == close { i += 1; return }
            while true {
                skipWhitespace()
                if isObject {
                    guard try peek() == UInt8(ascii: "\"") else { throw JSONError.unexpectedByte(offset: i, byte: b[i]) }
                    try skipString()
                    skipWhitespace()
                    guard try peek() == UInt8(ascii: ":") else { throw JSONError.unexpectedByte(offset: i, byte: b[i]) }
                    i += 1
                    skipWhitespace()
                }
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let c = try peek()
                i += 1
                if c == UInt8(ascii: ",") { continue }
                if c == close { return }
                throw JSONError.unexpectedByte(offset: i - 1, byte: c)
            }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expect("true")
        case UInt8(ascii: "f"): try expect("false")
        case UInt8(ascii: "n"): try expect("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        case let c: throw JSONError.unexpectedByte(offset: i, byte: c)
        }
    }

    /// Steps over a string to just past its closing quote: control bytes refused, an escape's next byte
    /// skipped; its UTF-8 and escapes are checked when the caller parses the deferred range.
    private mutating func skipString() throws {
        i += 1
        while true {
            guard i < b.count else { throw JSONError.unexpectedEnd(offset: i) }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return }
            if c < 0x20 { throw JSONError.unexpectedByte(offset: i, byte: c) }
            i += c == UInt8(ascii: "\\") ? 2 : 1
        }
    }

    /// A string's UTF-8 bytes: a view into the input when it has no escapes (nil when it has, the decoded
    /// bytes then in `scratch`). Validated as `string()` validates.
    private mutating func keyBytes(scratch: inout [UInt8]) throws -> UnsafeRawBufferPointer? {
        let start = i + 1
        var j = start
        var ascii = true
        while j < b.count {
            let c = b[j]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
            if c >= 0x80 { ascii = false }
            j += 1
        }
        if j < b.count, b[j] == UInt8(ascii: "\"") {
            let raw = UnsafeRawBufferPointer(rebasing: b[start..<j])
            if !ascii, String(validating: raw, as: UTF8.self) == nil { throw JSONError.invalidUTF8(offset: start) }
            i = j + 1
            return raw
        }
        // Escapes (or an error): the general reader.
        scratch.removeAll(keepingCapacity: true)
        var s = try string()
        s.withUTF8 { scratch.append(contentsOf: $0) }
        return nil
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw JSONError.unexpectedEnd(offset: b.count) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw JSONError.invalidEscape(offset: i)
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// Members up to this many are checked for repeats by a scan as they are read.
    private static let scanLimit = 16

    /// Throws for the first member (in order) whose key repeats an earlier one. `keyOffsets` holds the
    /// offsets of members scanLimit... (the first scanLimit were checked as they were read).
    private func checkDistinct(_ members: [(String, JSONValue)], keyOffsets: [Int]) throws {
        var seen = Set<ByteKey>(minimumCapacity: members.count)
        for (n, m) in members.enumerated() {
            guard seen.insert(ByteKey(m.0)).inserted else { throw JSONError.duplicateKey(m.0, offset: keyOffsets[n - Self.scanLimit]) }
        }
    }

    private mutating func string() throws -> String {
        i += 1 // opening quote
        var out = [UInt8]()
        var runStart = i
        while true {
            guard i < b.count else { throw JSONError.unexpectedEnd(offset: i) }
            let c = b[i]
            if c == UInt8(ascii: "\""), out.isEmpty {
                // no escapes: the string is the bytes between the quotes
                let raw = UnsafeRawBufferPointer(rebasing: b[runStart..<i])
                guard let s = String(validating: raw, as: UTF8.self) else { throw JSONError.invalidUTF8(offset: runStart) }
                i += 1
                return s
            }
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[runStart..<i]))
                i += 1
                break
            }
            if c < 0x20 { throw JSONError.unexpectedByte(offset: i, byte: c) }
            if c == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[runStart..<i]))
                i += 1
                guard i < b.count else { throw JSONError.unexpectedEnd(offset: i) }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    let at = i - 2
                    var cp = try hex4()
                    if (0xD800...0xDBFF).contains(cp) {
                        guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw JSONError.invalidEscape(offset: at)
                        }
                        i += 2
                        let lo = try hex4()
                        guard (0xDC00...0xDFFF).contains(lo) else { throw JSONError.invalidEscape(offset: at) }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(cp) {
                        throw JSONError.invalidEscape(offset: at)
                    }
                    guard let scalar = Unicode.Scalar(cp) else { throw JSONError.invalidEscape(offset: at) }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw JSONError.invalidEscape(offset: i - 2)
                }
                runStart = i
                continue
            }
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw JSONError.invalidUTF8(offset: runStart) }
        return s
    }
}

/// An object key for the duplicate check: equal and hashed by its UTF-8 bytes (String's own == is
/// canonical equivalence), without copying them into an array.
private struct ByteKey: Hashable {
    let key: String
    init(_ key: String) { self.key = key }
    static func == (a: ByteKey, b: ByteKey) -> Bool { a.key.utf8.elementsEqual(b.key.utf8) }
    func hash(into hasher: inout Hasher) {
        var k = key
        k.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

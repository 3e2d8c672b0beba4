import Foundation

/// A parsed JSON document. Objects keep their members in file order, and keys are compared byte-wise
/// (Swift `String ==` is canonical-equivalence, which would merge distinct vocabulary entries such as
/// "é" and "e\u{301}").
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integer literal that fits Int64.
    case int(Int64)
    /// Any other number (fraction, exponent, or out of Int64 range, e.g. transformers' 1e30 sentinel).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count
                && zip(x, y).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
        default: return false
        }
    }

    /// Parses `data`; `file` names the source in errors.
    static func parse(_ data: Data, file: String) throws -> JSONValue {
        var parser = JSONParser(bytes: [UInt8](data), file: file)
        return try parser.parseDocument()
    }

    /// Member `key` of an object (last one wins if duplicated, as serde_json and Python do).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members.reversed() where member.key.utf8.elementsEqual(key.utf8) {
            return member.value
        }
        return nil
    }

    var objectMembers: [(key: String, value: JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// Integer value; doubles holding an exact integer in Int64 range are accepted.
    var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            guard d.isFinite, d == d.rounded(), abs(d) < 9.0e18 else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// Strict RFC 8259 parser over bytes. Nesting is capped; every error names the byte offset.
struct JSONParser {
    static let maxDepth = 256

    let bytes: [UInt8]
    let file: String
    var i = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        // UTF-8 byte order mark.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
    }

    func fail(_ reason: String) -> TokenizerError {
        .invalidJSON(file: file, reason: "\(reason) at byte \(i)")
    }

    mutating func parseDocument() throws -> JSONValue {
        let v = try parseValue(depth: 0)
        skipSpace()
        if i != bytes.count { throw fail("trailing characters") }
        return v
    }

    mutating func skipSpace() {
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1 } else { break }
        }
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(key: String, value: JSONValue)] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected object key") }
                let key = try parseString()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                let value = try parseValue(depth: depth + 1)
                members.append((key: key, value: value))
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                } else if bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                } else {
                    throw fail("expected ',' or '}'")
                }
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                } else if bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                } else {
                    throw fail("expected ',' or ']'")
                }
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "N"):
            // Python's json.dump writes NaN / Infinity; accept them as doubles.
            try expectLiteral("NaN")
            return .double(.nan)
        case UInt8(ascii: "I"):
            try expectLiteral("Infinity")
            return .double(.infinity)
        default:
            return try parseNumber()
        }
    }

    mutating func expectLiteral(_ literal: String) throws {
        for b in literal.utf8 {
            guard i < bytes.count, bytes[i] == b else { throw fail("invalid literal") }
            i += 1
        }
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = i
        var isInteger = true
        if i < bytes.count && bytes[i] == UInt8(ascii: "-") {
            i += 1
            if i < bytes.count && bytes[i] == UInt8(ascii: "I") {
                try expectLiteral("Infinity")
                return .double(-.infinity)
            }
        }
        var digits = 0
        while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1; digits += 1 }
        guard digits > 0 else { throw fail("invalid value") }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            var fraction = 0
            while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1; fraction += 1 }
            guard fraction > 0 else { throw fail("invalid number") }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            isInteger = false
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            var exponent = 0
            while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1; exponent += 1 }
            guard exponent > 0 else { throw fail("invalid number") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isInteger, let v = Int64(text) { return .int(v) }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }

    mutating func parseString() throws -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = try validUTF8(bytes[start..<i])
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            i += 1
        }
        var out = [UInt8](bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return try validUTF8(out[...])
            }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
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
                var code = try parseHex4()
                if code >= 0xD800 && code < 0xDC00 {
                    // High surrogate: pair with a following \uDC00-\uDFFF, else U+FFFD.
                    if i + 1 < bytes.count && bytes[i] == UInt8(ascii: "\\") && bytes[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try parseHex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                            code = 0xFFFD
                        }
                    } else {
                        code = 0xFFFD
                    }
                } else if code >= 0xDC00 && code < 0xE000 {
                    code = 0xFFFD
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
            default:
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    mutating func parseHex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    func validUTF8(_ slice: ArraySlice<UInt8>) throws -> String {
        guard let s = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
        return s
    }
}

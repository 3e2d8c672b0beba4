/// Writing JSON text. Objects keep member order, so the same value always gives the same bytes.
public enum JSONWriter {
    /// A JSON string literal for `s`, quotes included (control characters escaped as \uXXXX).
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// Shortest text that reads back to the same Float; `null` for NaN and infinities (not JSON numbers).
    public static func number(_ f: Float) -> String { f.isFinite ? "\(f)" : "null" }
    public static func number(_ d: Double) -> String { d.isFinite ? "\(d)" : "null" }

    public static func write(_ v: JSONValue, sortKeys: Bool = false) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return number(d)
        case .string(let s): return quote(s)
        case .array(let a): return "[" + a.map { write($0, sortKeys: sortKeys) }.joined(separator: ",") + "]"
        case .object(let o):
            let members = sortKeys ? o.sorted { $0.0 < $1.0 } : o
            return "{" + members.map { quote($0.0) + ":" + write($0.1, sortKeys: sortKeys) }.joined(separator: ",") + "}"
        }
    }

    /// Indented text as Python's `json.dumps(v, indent=indent, sort_keys=sortKeys)` lays it out (what
    /// transformers writes for config.json): one member per line, `": "` after keys, `[]`/`{}` when empty.
    /// Keys sort by their UTF-8 bytes (= code points, Python's order).
    public static func pretty(_ v: JSONValue, indent: Int = 2, sortKeys: Bool = false) -> String {
        var out = ""
        func emit(_ v: JSONValue, _ level: Int) {
            let pad = String(repeating: " ", count: indent * (level + 1))
            let close = String(repeating: " ", count: indent * level)
            switch v {
            case .array(let a) where !a.isEmpty:
                out += "[\n"
                for (i, e) in a.enumerated() {
                    out += pad
                    emit(e, level + 1)
                    out += i + 1 < a.count ? ",\n" : "\n"
                }
                out += close + "]"
            case .object(let o) where !o.isEmpty:
                let members = sortKeys ? o.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : o
                out += "{\n"
                for (i, (k, e)) in members.enumerated() {
                    out += pad + quote(k) + ": "
                    emit(e, level + 1)
                    out += i + 1 < members.count ? ",\n" : "\n"
                }
                out += close + "}"
            default:
                out += write(v)
            }
        }
        emit(v, 0)
        return out
    }
}

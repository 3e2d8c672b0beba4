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
}

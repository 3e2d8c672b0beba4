/// Number text as Python and numpy print it, for files the reference writes with csv.writer (str() of each
/// field). Both use the shortest decimal digits that read back to the same value, as Swift's description
/// does; they differ only in where they switch to exponent notation and how they spell it.
public enum PythonNumber {
    /// Shortest round-trip digits of a finite, non-zero value: `digits` without leading or trailing zeros,
    /// value = 0.d1d2… × 10^(exponent + 1), i.e. `exponent` is that of the first digit in scientific notation.
    struct Decimal {
        var negative: Bool
        var digits: [Character]
        var exponent: Int
    }

    /// Reads Swift's description ("1.5e-07", "0.0001", "123456789.0", "9.999e+15").
    static func decimal(_ description: String) -> Decimal {
        var text = Substring(description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var mantissa = text, exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let point = mantissa.firstIndex(of: ".") ?? mantissa.endIndex
        let integerPart = Array(mantissa[..<point])
        let fraction = point < mantissa.endIndex ? Array(mantissa[mantissa.index(after: point)...]) : []
        let all = integerPart + fraction
        let leading = all.prefix { $0 == "0" }.count
        var digits = Array(all.dropFirst(leading))
        while digits.last == "0" { digits.removeLast() }
        return Decimal(negative: negative, digits: digits, exponent: exponent + integerPart.count - 1 - leading)
    }

    static func positional(_ d: Decimal) -> String {
        var s = d.negative ? "-" : ""
        if d.exponent >= 0 {
            var digits = d.digits
            while digits.count <= d.exponent { digits.append("0") }
            let fraction = digits[(d.exponent + 1)...]
            s += String(digits[...d.exponent]) + "." + (fraction.isEmpty ? "0" : String(fraction))
        } else {
            s += "0." + String(repeating: "0", count: -d.exponent - 1) + String(d.digits)
        }
        return s
    }

    static func scientific(_ d: Decimal) -> String {
        var s = d.negative ? "-" : ""
        s += String(d.digits[0])
        if d.digits.count > 1 { s += "." + String(d.digits[1...]) }
        let e = abs(d.exponent)
        return s + "e" + (d.exponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }

    static func special(_ v: Double) -> String? {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        if v == 0 { return v.sign == .minus ? "-0.0" : "0.0" }
        return nil
    }

    /// Python's repr(float) / str(np.float64): positional when the first digit's exponent is in −4…15,
    /// else `d.ddde±XX`.
    public static func repr(_ v: Double) -> String {
        if let s = special(v) { return s }
        let d = decimal(v.description)
        return (-4..<16).contains(d.exponent) ? positional(d) : scientific(d)
    }

    /// str(np.float32): positional when 1e-4 ≤ |v| < 1e6 (compared in float64, so float32(1e-4), which is
    /// just below, prints as "1e-04"), else `d.ddde±XX`; digits are float32's shortest round trip.
    public static func numpyStr(_ v: Float) -> String {
        if let s = special(Double(v)) { return s }
        let d = decimal(v.description)
        let a = abs(Double(v))
        return a >= 1e-4 && a < 1e6 ? positional(d) : scientific(d)
    }
}

/// Text from a file shown in a message: C0 and C1 controls, DEL, the bidirectional formatting
/// characters (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), the line and paragraph separators and
/// the backslash are written as `\u{…}` / `\\`, so a hostile name can neither inject terminal escape
/// sequences nor reorder the text around it (CVE-2021-42574 "Trojan Source").
public func displayEscaped(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for u in s.unicodeScalars {
        switch u.value {
        case 0x5C:
            out += "\\\\"
        case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069:
            out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
        default:
            out.unicodeScalars.append(u)
        }
    }
    return out
}

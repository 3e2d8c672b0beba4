#if canImport(FoundationEssentials)
import FoundationEssentials

/// NSString's `trimmingCharacters(in:)`, `replacingOccurrences(of:with:)` and `range(of:)` for a build that links
/// FoundationEssentials only; disfavoured, so a file importing full Foundation keeps Foundation's.
public struct TrimmedCharacters: Sendable {
    let contains: @Sendable (Unicode.Scalar) -> Bool
    /// CharacterSet.whitespaces: Unicode general category Zs and tab.
    public static let whitespaces = TrimmedCharacters { $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }
    /// CharacterSet.whitespacesAndNewlines: the above plus U+000A–U+000D, U+0085, U+2028, U+2029.
    public static let whitespacesAndNewlines = TrimmedCharacters {
        $0 == "\t" || (0x0A...0x0D).contains($0.value) || $0.value == 0x85 || $0.value == 0x2028 || $0.value == 0x2029
            || $0.properties.generalCategory == .spaceSeparator
    }
}

extension StringProtocol {
    @_disfavoredOverload
    public func trimmingCharacters(in set: TrimmedCharacters) -> String {
        let u = unicodeScalars
        guard let first = u.firstIndex(where: { !set.contains($0) }) else { return "" }
        let last = u.lastIndex(where: { !set.contains($0) })!
        var s = ""
        s.unicodeScalars.append(contentsOf: u[first...last])
        return s
    }

    @_disfavoredOverload
    public func replacingOccurrences(of target: String, with replacement: String) -> String {
        String(self).replacing(target, with: replacement)
    }

    @_disfavoredOverload
    public func range(of target: String) -> Range<String.Index>? {
        String(self).firstRange(of: target)
    }
}
#endif

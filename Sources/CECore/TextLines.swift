/// Lines of a text file as people write them: LF or CRLF endings, a last line with or without its newline, a
/// leading UTF-8 byte order mark ignored. Blank lines (only spaces, tabs) are dropped; `number` still counts
/// them, so it is the line an editor shows (1-based).
public enum TextLines {
    public struct Line {
        public var number: Int
        /// The line without its ending ("\n" or "\r\n").
        public var bytes: ArraySlice<UInt8>
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    public static func nonBlank<C: Collection>(_ data: C) -> [Line] where C.Element == UInt8 {
        var bytes = ArraySlice(data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var out: [Line] = []
        var number = 0
        for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let line = raw.last == 0x0D ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            out.append(Line(number: number, bytes: line))
        }
        return out
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One argument of `String(format:)` without full Foundation (FoundationEssentials has none): integers, floating
/// point (C's double, as C varargs promote Float) and strings (`%@`).
public enum PrintfValue: Sendable { case int(Int), double(Double), string(String) }

public protocol PrintfArgument { var printfValue: PrintfValue { get } }
extension Int: PrintfArgument { public var printfValue: PrintfValue { .int(self) } }
extension Int32: PrintfArgument { public var printfValue: PrintfValue { .int(Int(self)) } }
extension Int64: PrintfArgument { public var printfValue: PrintfValue { .int(Int(self)) } }
extension UInt32: PrintfArgument { public var printfValue: PrintfValue { .int(Int(self)) } }
extension Double: PrintfArgument { public var printfValue: PrintfValue { .double(self) } }
extension Float: PrintfArgument { public var printfValue: PrintfValue { .double(Double(self)) } }
extension String: PrintfArgument { public var printfValue: PrintfValue { .string(self) } }
extension Substring: PrintfArgument { public var printfValue: PrintfValue { .string(String(self)) } }

extension String {
    /// Foundation's `String(format:)` for the conversions cetool uses: `%d %i %u %x %X %o` (integers), `%f %F %e
    /// %E %g %G %a %A` (doubles), `%@` (strings), `%%`, with flags, width and precision. Each numeric conversion is
    /// rendered by C's vsnprintf in the C locale, as Foundation renders it, so the text is byte-identical. A
    /// missing argument renders as nothing; an unknown conversion is copied as written. Disfavoured so that a
    /// file importing full Foundation keeps Foundation's.
    @_disfavoredOverload
    public init(format: String, _ arguments: PrintfArgument...) {
        self = PrintfFormat.render(Array(format.utf8), arguments.map(\.printfValue))
    }
}

enum PrintfFormat {
    static func render(_ f: [UInt8], _ args: [PrintfValue]) -> String {
        var out: [UInt8] = [], i = 0, next = 0
        out.reserveCapacity(f.count + 16 * args.count)
        while i < f.count {
            guard f[i] == UInt8(ascii: "%") else { out.append(f[i]); i += 1; continue }
            var j = i + 1
            while j < f.count, "-+ #0".utf8.contains(f[j]) { j += 1 }
            while j < f.count, (f[j] >= 0x30 && f[j] <= 0x39) || f[j] == UInt8(ascii: ".") { j += 1 }
            let flags = Array(f[(i + 1)..<j])                   // flags, width, precision
            while j < f.count, "hlqLzjt".utf8.contains(f[j]) { j += 1 }   // length modifiers: the argument's type decides
            guard j < f.count else { out += f[i...]; break }
            let conversion = f[j]
            let arg: PrintfValue? = conversion == UInt8(ascii: "%") ? nil : (next < args.count ? args[next] : nil)
            if conversion != UInt8(ascii: "%") { next += 1 }
            out += piece(conversion, flags: flags, arg, written: f[i...j])
            i = j + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of one conversion `%<flags><conversion>`.
    static func piece(_ c: UInt8, flags: [UInt8], _ arg: PrintfValue?, written: ArraySlice<UInt8>) -> [UInt8] {
        switch UnicodeScalar(c) {
        case "%": return [c]
        case "@":
            guard case .string(let s)? = arg else { return arg.map { Array(describe($0).utf8) } ?? [] }
            return Array(s.utf8)
        case "d", "i", "u", "x", "X", "o":
            guard let arg else { return [] }
            let v: Int
            switch arg { case .int(let n): v = n; case .double(let d): v = d.isFinite ? Int(d) : 0; case .string: return Array(describe(arg).utf8) }
            return cFormat([0x25] + flags + Array("l".utf8) + [c], v)
        case "f", "F", "e", "E", "g", "G", "a", "A":
            guard let arg else { return [] }
            let v: Double
            switch arg { case .int(let n): v = Double(n); case .double(let d): v = d; case .string: return Array(describe(arg).utf8) }
            return cFormat([0x25] + flags + [c], v)
        default: return Array(written)
        }
    }

    static func describe(_ v: PrintfValue) -> String {
        switch v { case .int(let n): return String(n); case .double(let d): return String(d); case .string(let s): return s }
    }

    /// vsnprintf of one conversion spec (NUL added here) and one argument.
    static func cFormat(_ spec: [UInt8], _ value: CVarArg) -> [UInt8] {
        let cSpec = spec.map { CChar(bitPattern: $0) } + [0]
        var capacity = 64
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let n = withVaList([value]) { va in vsnprintf(&buffer, capacity, cSpec, va) }
            if n < 0 { return [] }
            if Int(n) < capacity { return buffer[0..<Int(n)].map { UInt8(bitPattern: $0) } }
            capacity = Int(n) + 1
        }
    }
}
#endif

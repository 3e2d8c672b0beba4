/// Bounds-checked little-endian reads over untrusted bytes. Never traps on content.
public struct ByteReader {
    public enum Error: Swift.Error, Equatable {
        case outOfBounds(offset: Int, length: Int, available: Int)
    }

    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset: Int = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    public mutating func readUInt64LE() throws -> UInt64 {
        try need(8)
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    public mutating func readBytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        try need(n)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        offset += n
        return slice
    }

    private func need(_ n: Int) throws {
        guard n >= 0, n <= remaining else {
            throw Error.outOfBounds(offset: offset, length: n, available: remaining)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum WriteError: Error, Equatable, CustomStringConvertible {
    case cannotCreate(path: String, errno: Int32)
    case writeFailed(path: String, errno: Int32)
    case syncFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotCreate(let p, let e): return "cannot create \(p): \(String(cString: strerror(e)))"
        case .writeFailed(let p, let e): return "cannot write \(p): \(String(cString: strerror(e)))"
        case .syncFailed(let p, let e): return "cannot sync \(p) to disk: \(String(cString: strerror(e)))"
        }
    }
}

/// A new file written front to back through a buffer, then fsynced and closed. Refuses to open a path
/// that already exists (O_EXCL), so it never overwrites; callers stage beside the target and rename.
public final class FileWriter {
    public let path: String
    /// The path errors name: the file's final place when it is written into a staging folder (a user
    /// asked for that path; the staging one is gone by the time they read the message).
    public let displayPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    /// Bytes written so far (incl. buffered).
    public private(set) var offset: Int = 0
    /// SHA-256 of everything written, kept as the bytes go out.
    private var digest = SHA256()

    public init(creating path: String, mode: mode_t = 0o644, displayPath: String? = nil) throws {
        self.path = path
        self.displayPath = displayPath ?? path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError.cannotCreate(path: self.displayPath, errno: errno) }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit { if fd >= 0 { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        digest.update(bytes)
        offset += bytes.count
        if bytes.count >= bufferLimit {
            try flush()
            try writeAll(bytes)
            return
        }
        if buffer.count + bytes.count > bufferLimit { try flush() }
        buffer.append(contentsOf: bytes)
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ s: String) throws { try write(Array(s.utf8)) }
    public func writeZeros(_ n: Int) throws { if n > 0 { try write([UInt8](repeating: 0, count: n)) } }

    /// Flushes, fsyncs and closes. Returns the SHA-256 (hex) of the file's bytes.
    @discardableResult
    public func finish() throws -> String {
        try flush()
        guard fsync(fd) == 0 else { throw WriteError.syncFailed(path: displayPath, errno: errno) }
        let closed = close(fd)
        let e = errno
        fd = -1
        // close reports late write errors on some file systems (NFS: EIO, ENOSPC, EDQUOT).
        guard closed == 0 || e == EINTR else { throw WriteError.writeFailed(path: displayPath, errno: e) }
        return SHA256.hexString(digest.finalize())
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw WriteError.writeFailed(path: displayPath, errno: errno)
            }
            done += n
        }
    }

    /// fsync of a directory, so a rename or a new entry in it survives a crash.
    public static func syncDirectory(_ path: String) throws {
        let dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw WriteError.syncFailed(path: path, errno: errno) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw WriteError.syncFailed(path: path, errno: errno) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum FileError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case notARegularFile(path: String)
    case cannotOpen(path: String, errno: Int32)
    case cannotMap(path: String, errno: Int32)
    case readFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .notFound(let p): return "file not found: \(p)"
        case .notARegularFile(let p): return "not a regular file: \(p)"
        case .cannotOpen(let p, let e): return "cannot open \(p): \(String(cString: strerror(e)))"
        case .cannotMap(let p, let e): return "cannot map \(p): \(String(cString: strerror(e)))"
        case .readFailed(let p, let e): return "cannot read \(p): \(String(cString: strerror(e)))"
        }
    }
}

/// A read-only memory mapping of a whole file. The bytes live as long as this object.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    private let base: UnsafeMutableRawPointer?

    public init(path: String) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { throw FileError.notFound(path: path) }
            throw FileError.cannotOpen(path: path, errno: errno)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError.notARegularFile(path: path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var st2 = stat()
        guard fstat(fd, &st2) == 0 else { throw FileError.cannotOpen(path: path, errno: errno) }
        let size = Int(st2.st_size)
        count = size
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError.cannotMap(path: path, errno: errno) }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// Drops the resident pages wholly inside `range` (a part of `bytes`) from this process
    /// (madvise MADV_DONTNEED): the mapping is private and never written, so a later read faults the same
    /// bytes back in from the file. Partial pages at the ends stay.
    public func releasePages(_ range: UnsafeRawBufferPointer) {
        guard let base, let start = range.baseAddress, start >= UnsafeRawPointer(base),
              start + range.count <= UnsafeRawPointer(base) + count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: start) + page - 1) / page * page
        let hi = (Int(bitPattern: start) + range.count) / page * page
        guard hi > lo else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, MADV_DONTNEED)
    }

    /// The mapped bytes. Valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) }, count: count)
    }
}

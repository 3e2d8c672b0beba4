#if canImport(Glibc)
import Glibc
#endif
import CArchive
import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum ArchiveError: Error, Equatable, CustomStringConvertible {
    case libarchive(operation: String, message: String)

    public var description: String {
        switch self {
        case .libarchive(let op, let m): return "\(op): \(m)"
        }
    }
}

/// archive_entry.h's file types (macros with casts, which Swift does not import).
enum TarType {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
    static let characterDevice: UInt32 = 0o020000
    static let blockDevice: UInt32 = 0o060000
    static let fifo: UInt32 = 0o010000
}

/// A deterministic tar.gz writer over libarchive (formats/package.md, "Determinism"): restricted pax
/// (plain ustar headers unless a name or size needs a pax record), every entry a regular file with
/// mode 0644, mtime 0, uid/gid 0 and no user/group names, in the order given; gzip without a
/// timestamp or file name. Bytes go to a FileWriter (which hashes them), never straight to a target.
final class TarGzWriter {
    private let archive: OpaquePointer
    private let sink: Sink
    private var closed = false

    /// Receives libarchive's output.
    final class Sink {
        let writer: FileWriter
        var error: Error?
        init(_ writer: FileWriter) { self.writer = writer }
    }

    /// The gzip level: fixed so the bytes do not depend on libarchive's default.
    static let compressionLevel = 6

    init(writer: FileWriter) throws {
        guard let a = archive_write_new() else { throw ArchiveError.libarchive(operation: "archive_write_new", message: "out of memory") }
        archive = a
        sink = Sink(writer)
        try check(archive_write_set_format_pax_restricted(a), "set the tar format")
        try check(archive_write_add_filter_gzip(a), "add the gzip filter")
        try check(archive_write_set_filter_option(a, "gzip", "timestamp", nil), "turn off the gzip timestamp")
        try check(archive_write_set_filter_option(a, "gzip", "compression-level", String(Self.compressionLevel)), "set the gzip level")
        try check(archive_write_set_bytes_in_last_block(a, 1), "set the last block size")
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        let write: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = { _, ctx, buf, n in
            let sink = Unmanaged<Sink>.fromOpaque(ctx!).takeUnretainedValue()
            do {
                try sink.writer.write(UnsafeRawBufferPointer(start: buf, count: n))
                return n
            } catch {
                sink.error = error
                return -1
            }
        }
        try check(archive_write_open2(a, ctx, nil, write, nil, nil), "open the archive")
    }

    deinit {
        if !closed { archive_write_close(archive) }
        archive_write_free(archive)
    }

    private func check(_ r: Int32, _ op: String) throws {
        if r == ARCHIVE_OK { return }
        if let e = sink.error { throw e }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "error \(r)"
        if r != ARCHIVE_WARN { throw ArchiveError.libarchive(operation: op, message: message) }
    }

    /// One entry with explicit header fields, for building archives (incl. hostile ones in tests).
    struct Header {
        var path: String
        var size: Int
        var fileType: UInt32 = TarType.regular
        var permissions: UInt32 = 0o644
        var linkTarget: String?
        var hardLink: String?
    }

    func add(_ h: Header, data: UnsafeRawBufferPointer) throws {
        guard let e = archive_entry_new() else { throw ArchiveError.libarchive(operation: "archive_entry_new", message: "out of memory") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname(e, h.path)
        archive_entry_set_size(e, Int64(h.size))
        archive_entry_set_filetype(e, h.fileType)
        archive_entry_set_perm(e, h.permissions)
        archive_entry_set_mtime(e, 0, 0)
        archive_entry_set_uid(e, 0)
        archive_entry_set_gid(e, 0)
        if let t = h.linkTarget { archive_entry_set_symlink(e, t) }
        if let t = h.hardLink { archive_entry_set_hardlink(e, t) }
        try check(archive_write_header(archive, e), "write the header of \(h.path)")
        var done = 0
        while done < data.count {
            let n = archive_write_data(archive, data.baseAddress! + done, data.count - done)
            if n < 0 { try check(Int32(truncatingIfNeeded: n), "write \(h.path)") }
            if n <= 0 { break }
            done += n
        }
    }

    func add(path: String, data: UnsafeRawBufferPointer) throws {
        try add(Header(path: path, size: data.count), data: data)
    }

    func add(path: String, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try add(path: path, data: $0) }
    }

    /// Flushes the gzip stream and the tar end blocks into the writer (which the caller then finishes).
    func close() throws {
        closed = true
        try check(archive_write_close(archive), "close the archive")
    }
}

/// Reads a tar.gz held in memory entry by entry. Only gzip and tar (ustar/pax/gnu) are enabled.
final class TarGzReader {
    private let archive: OpaquePointer

    struct Entry {
        var path: String
        var fileType: UInt32
        var permissions: UInt32
        /// The header's size; nil when the header sets none.
        var size: Int?
        var isHardLink: Bool
        var symlink: String?
        var isSparse: Bool
    }

    init(_ bytes: UnsafeRawBufferPointer) throws {
        guard let a = archive_read_new() else { throw ArchiveError.libarchive(operation: "archive_read_new", message: "out of memory") }
        archive = a
        archive_read_support_filter_gzip(a)
        archive_read_support_format_tar(a)
        guard archive_read_open_memory(a, bytes.baseAddress, bytes.count) == ARCHIVE_OK else {
            throw ArchiveError.libarchive(operation: "open the archive", message: message)
        }
    }

    deinit { archive_read_free(archive) }

    private var message: String { archive_error_string(archive).map { String(cString: $0) } ?? "unknown error" }

    /// The next entry's header, nil at the end.
    func next() throws -> Entry? {
        var e: OpaquePointer?
        let r = archive_read_next_header(archive, &e)
        if r == ARCHIVE_EOF { return nil }
        guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let e else { throw ArchiveError.libarchive(operation: "read an entry header", message: message) }
        guard let p = archive_entry_pathname(e) else { throw ArchiveError.libarchive(operation: "read an entry header", message: "entry without a name") }
        return Entry(path: String(cString: p), fileType: UInt32(archive_entry_filetype(e)), permissions: UInt32(archive_entry_mode(e)) & 0o7777,
                     size: archive_entry_size_is_set(e) != 0 ? Int(archive_entry_size(e)) : nil,
                     isHardLink: archive_entry_hardlink(e) != nil, symlink: archive_entry_symlink(e).map { String(cString: $0) },
                     isSparse: archive_entry_sparse_count(e) > 0)
    }

    /// Streams the current entry's data in chunks; stops (and throws) when `body` throws.
    func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = 1 << 16
        let buf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = archive_read_data(archive, buf, chunk)
            if n == 0 { return }
            if n < 0 { throw ArchiveError.libarchive(operation: "read entry data", message: message) }
            try body(UnsafeRawBufferPointer(start: buf, count: n))
        }
    }
}

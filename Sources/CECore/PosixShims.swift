#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What cetool took from full Foundation (FileHandle's standard streams, NSLock, NSCondition, NSString's path
/// words), on POSIX alone, so the edge binary links FoundationEssentials only (no ICU).
public enum StandardStreams {
    /// All of `s` on standard output; a closed or full stream drops the rest (as a CLI's output to a gone pipe).
    public static func writeOutput(_ s: String) { writeAll(STDOUT_FILENO, Array(s.utf8)) }
    public static func writeError(_ s: String) { writeAll(STDERR_FILENO, Array(s.utf8)) }

    /// Standard input to its end.
    public static func readInput() -> Data {
        var data = Data(), buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n > 0 { data.append(contentsOf: buffer[0..<n]); continue }
            if n < 0, errno == EINTR { continue }
            return data
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n } else if n < 0, errno == EINTR { continue } else { return }
        }
    }
}

/// A pthread mutex: `lock()` / `unlock()` as NSLock's.
public final class PosixLock: @unchecked Sendable {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    public init() { mutex.initialize(to: pthread_mutex_t()); pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
}

/// A mutex with its condition variable: NSCondition's `lock`, `unlock`, `wait`, `wait(until:)`, `signal`, `broadcast`.
public final class PosixCondition: @unchecked Sendable {
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    public init() {
        mutex.initialize(to: pthread_mutex_t()); pthread_mutex_init(mutex, nil)
        cond.initialize(to: pthread_cond_t()); pthread_cond_init(cond, nil)
    }
    deinit {
        pthread_cond_destroy(cond); cond.deallocate()
        pthread_mutex_destroy(mutex); mutex.deallocate()
    }
    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func wait() { pthread_cond_wait(cond, mutex) }
    public func signal() { pthread_cond_signal(cond) }
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits until signalled or `limit` (wall clock, as pthread_cond_timedwait's CLOCK_REALTIME) passes; false on timeout.
    @discardableResult
    public func wait(until limit: Date) -> Bool {
        let t = max(0, limit.timeIntervalSince1970)
        var ts = timespec(tv_sec: Int(t), tv_nsec: Int((t - t.rounded(.down)) * 1e9))
        return pthread_cond_timedwait(cond, mutex, &ts) == 0
    }
}

/// NSString's `lastPathComponent` and `deletingLastPathComponent` on plain strings (trailing slashes ignored;
/// "/" stays "/"; a bare name has parent "").
public enum PathText {
    public static func lastComponent(_ path: String) -> String {
        let p = trimmed(path)
        if p == "/" { return p }
        return p.lastIndex(of: "/").map { String(p[p.index(after: $0)...]) } ?? p
    }

    public static func parent(_ path: String) -> String {
        let p = trimmed(path)
        guard let slash = p.lastIndex(of: "/") else { return "" }
        if p == "/" { return "/" }
        let head = trimmed(String(p[..<slash]))
        return head.isEmpty ? "/" : head
    }

    static func trimmed(_ p: String) -> String {
        var s = Substring(p)
        while s.count > 1, s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}

/// C's libm by one name on Glibc and Darwin (files that once wrote `Foundation.exp` to step past a member of
/// the same name).
public enum CMath {
    @inlinable @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inlinable @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable @inline(__always) public static func erf(_ x: Float) -> Float { erff(x) }
    @inlinable @inline(__always) public static func pow(_ x: Double, _ y: Double) -> Double { libmPow(x, y) }
    @inlinable @inline(__always) public static func sin(_ x: Double) -> Double { libmSin(x) }
    @inlinable @inline(__always) public static func cos(_ x: Double) -> Double { libmCos(x) }
}

@usableFromInline func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
@usableFromInline func libmSin(_ x: Double) -> Double { sin(x) }
@usableFromInline func libmCos(_ x: Double) -> Double { cos(x) }

/// The reason a file operation failed: the C library's text for the POSIX error beneath it when there is one
/// (e.g. "No such file or directory"), else the error as Swift describes it.
public func systemReason(_ error: Error) -> String {
    if let code = posixCode(error) { return String(cString: strerror(code)) }
    return String(describing: error)
}

/// The errno beneath a FileManager / Data error, if any.
public func posixCode(_ error: Error) -> Int32? {
    if let p = error as? POSIXError { return p.code.rawValue }
    if let c = error as? CocoaError, let p = c.underlying as? POSIXError { return p.code.rawValue }
    return nil
}

#if canImport(FoundationEssentials)
/// Foundation's ObjCBool where FoundationEssentials' FileManager.fileExists(atPath:isDirectory:) takes a Bool.
public typealias ObjCBool = Bool
extension Bool {
    public var boolValue: Bool { self }
}

/// Foundation's `Thread { … }` with `name`, `stackSize` and `start()`, on a detached pthread.
public final class PosixThread: @unchecked Sendable {
    let body: () -> Void
    /// Kept for Thread's API; not applied (Glibc's module does not expose pthread_setname_np).
    public var name: String?
    /// Bytes; 0 keeps the system's default.
    public var stackSize = 0

    public init(block: @escaping () -> Void) { body = block }

    /// Runs the block on a new thread; if the system refuses one, on this thread (as the work must still happen).
    public func start() {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if stackSize > 0 { pthread_attr_setstacksize(&attr, stackSize) }
        let context = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { raw in
            let t = Unmanaged<PosixThread>.fromOpaque(raw!).takeRetainedValue()
            t.body()
            return nil
        }, context)
        if rc == 0 { pthread_detach(tid); return }
        Unmanaged<PosixThread>.fromOpaque(context).release()
        body()
    }
}
#else
public typealias PosixThread = Thread
#endif

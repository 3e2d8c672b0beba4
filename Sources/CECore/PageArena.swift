#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One anonymous mapping that hands out aligned, zero-filled slices, for large buffers written once at
/// load (the int8 weight panels). On Linux the mapping asks for transparent huge pages: filling 20 MB of
/// panels through 4 KiB pages took about 5,000 page faults, the largest single cost of loading an int8
/// artifact; 2 MiB pages take a dozen. `trim()` gives back the address space past the last slice, so no
/// huge page is made for a reservation that is never used. Memory comes from the kernel already zeroed.
public final class PageArena: @unchecked Sendable {
    private static let hugePage = 2 << 20
    private let mapping: UnsafeMutableRawPointer?
    private var mappedBytes: Int
    /// 2 MiB-aligned start of the usable range inside the mapping.
    private let start: UnsafeMutableRawPointer?
    private var capacity: Int
    public private(set) var used = 0

    /// Reserves `capacity` bytes of address space (nothing is resident until written).
    public init(capacity: Int) {
        guard capacity > 0 else {
            mapping = nil; start = nil; mappedBytes = 0; self.capacity = 0
            return
        }
        let length = capacity + Self.hugePage
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else {
            mapping = nil; start = nil; mappedBytes = 0; self.capacity = 0
            return
        }
        mapping = p
        mappedBytes = length
        let aligned = (Int(bitPattern: p) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        start = UnsafeMutableRawPointer(bitPattern: aligned)
        self.capacity = capacity
        #if os(Linux)
        _ = madvise(start, capacity, MADV_HUGEPAGE)
        #endif
    }

    /// `count` zero bytes aligned to `alignment` (a power of two up to 4096); nil when the reservation is
    /// exhausted (the caller falls back to its own allocation).
    public func allocate(count: Int, alignment: Int = 64) -> UnsafeMutableRawPointer? {
        guard let start else { return nil }
        let at = (used + alignment - 1) / alignment * alignment
        guard count >= 0, at + count <= capacity else { return nil }
        used = at + count
        return start + at
    }

    /// Unmaps the reserved range past the last slice (rounded up to a page).
    public func trim() {
        guard let start, let mapping else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let keepEnd = Int(bitPattern: start) + (used + page - 1) / page * page
        let mapEnd = Int(bitPattern: mapping) + mappedBytes
        guard mapEnd > keepEnd else { return }
        if munmap(UnsafeMutableRawPointer(bitPattern: keepEnd), mapEnd - keepEnd) == 0 {
            mappedBytes = keepEnd - Int(bitPattern: mapping)
            capacity = used
        }
    }

    deinit {
        if let mapping { munmap(mapping, mappedBytes) }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum ProcessMemory {
    /// This process's peak resident set in bytes: VmHWM of /proc/self/status (Linux), nil elsewhere.
    /// Not getrusage's ru_maxrss: on Linux that also carries the high-water mark of the address space the
    /// process had before exec, which for a child spawned by vfork (as Python's subprocess does) is its
    /// parent's, so a benchmark started from a 70 MB Python process could never report less than 70 MB.
    public static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let kb = fields.first.flatMap({ Int($0) }), fields.count > 1, fields[1] == "kB" else { return nil }
            return kb * 1024
        }
        return nil
    }
}

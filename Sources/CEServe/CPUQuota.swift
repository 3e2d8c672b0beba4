#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The CPUs this process may use: its cgroup's CPU quota (a container's `--cpus`), else its affinity mask,
/// else the host's active processor count. The quota is rounded up (1.5 CPUs -> 2 threads), at least 1.
public enum CPUQuota {
    public struct Reading: Sendable, Equatable {
        public var cpus: Int
        /// Where the figure came from: "cgroup v2 cpu.max", "cgroup v1 cfs quota", "affinity", "processors".
        public var source: String
    }

    public static func current(root: String = "/sys/fs/cgroup") -> Reading {
        if let q = cgroupV2(root: root) { return Reading(cpus: q, source: "cgroup v2 cpu.max") }
        if let q = cgroupV1(root: root) { return Reading(cpus: q, source: "cgroup v1 cfs quota") }
        if let a = affinity() { return Reading(cpus: a, source: "affinity") }
        return Reading(cpus: max(1, ProcessInfo.processInfo.activeProcessorCount), source: "processors")
    }

    /// cgroup v2: `cpu.max` holds "QUOTA PERIOD" in microseconds, or "max PERIOD" for no limit. The process's own
    /// cgroup (from /proc/self/cgroup, "0::/path") is read first, then the root's.
    static func cgroupV2(root: String) -> Int? {
        var paths = [root + "/cpu.max"]
        if let own = read("/proc/self/cgroup")?.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            let rel = String(own.dropFirst(3))
            if rel != "/" { paths.insert(root + rel + "/cpu.max", at: 0) }
        }
        for p in paths {
            guard let text = read(p) else { continue }
            return parseCPUMax(text)
        }
        return nil
    }

    /// "QUOTA PERIOD" -> ceil(quota / period); "max PERIOD" (no limit) and malformed text -> nil.
    public static func parseCPUMax(_ text: String) -> Int? {
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard f.count == 2, let period = Int(f[1]), period > 0, let quota = Int(f[0]), quota > 0 else { return nil }
        return max(1, (quota + period - 1) / period)
    }

    /// cgroup v1: cpu.cfs_quota_us (-1: no limit) over cpu.cfs_period_us, under cpu or cpu,cpuacct.
    static func cgroupV1(root: String) -> Int? {
        for dir in ["cpu", "cpu,cpuacct", "cpuacct,cpu"] {
            guard let q = read("\(root)/\(dir)/cpu.cfs_quota_us").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                  let p = read("\(root)/\(dir)/cpu.cfs_period_us").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
            else { continue }
            guard q > 0, p > 0 else { return nil }
            return max(1, (q + p - 1) / p)
        }
        return nil
    }

    /// CPUs in this process's affinity mask: /proc/self/status `Cpus_allowed`, comma-separated hex words. nil where
    /// unavailable.
    static func affinity() -> Int? {
        guard let status = read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        var n = 0
        for word in line.dropFirst("Cpus_allowed:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            guard let w = UInt64(word, radix: 16) else { return nil }
            n += w.nonzeroBitCount
        }
        return n > 0 ? n : nil
    }

    private static func read(_ path: String) -> String? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: d, as: UTF8.self)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Opt-in load/run trace: with CETOOL_TRACE=1 in the environment, `mark` writes the time since the first
/// mark, the phase name and the resident set (VmRSS, VmHWM) to standard error.
/// Off by default: one environment lookup, then nothing.
public enum PhaseTrace {
    private static let enabled: Bool = ProcessInfo.processInfo.environment["CETOOL_TRACE"] == "1"
    nonisolated(unsafe) private static var start: Double = 0

    public static func mark(_ phase: @autoclosure () -> String) {
        guard enabled else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        if start == 0 { start = now }
        var rss = "", hwm = ""
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                if line.hasPrefix("VmRSS:") { rss = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("VmHWM:") { hwm = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
            }
        }
        StandardStreams.writeError("trace \(String(format: "%8.2f", (now - start) * 1000)) ms  \(phase())  rss \(rss)  peak \(hwm)\n")
    }
}

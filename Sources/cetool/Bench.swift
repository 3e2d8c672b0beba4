import ArgumentParser
import CECore
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time predict on a pairs file (tokenization included); for bench/run.py.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, text }

    @OptionGroup var model: ModelOptions

    @Option(help: "JSON lines of pairs, as for predict.")
    var pairs: String

    @Option(name: .customLong("repeat"), help: "Timed repetitions; the fastest is reported.")
    var repetitions: Int = 3

    @Option(help: "json or text.")
    var format: Format = .json

    func run() throws {
        let input = try parsePairs(try readInput(pairs))
        guard !input.isEmpty else { throw CLIError.noInput(what: "pairs") }
        let t0 = Date()
        let ce = try model.load()
        _ = try ce.logits([input[0]], batchSize: 1)
        let load = Date().timeIntervalSince(t0)
        // warm-up: one batch
        _ = try ce.logits(Array(input.prefix(model.batchSize)), batchSize: model.batchSize)
        var best = Double.infinity
        var latencies: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let s = Date()
            if model.batchSize == 1 {
                // batch 1: every pair is a request; its latency is kept (over all repeats, as bench/run.py does)
                for pair in input {
                    let p = Date()
                    _ = try ce.logits([pair], batchSize: 1)
                    latencies.append(Date().timeIntervalSince(p))
                }
            } else {
                _ = try ce.logits(input, batchSize: model.batchSize)
            }
            best = min(best, Date().timeIntervalSince(s))
        }
        let p50 = percentile(latencies, 50), p99 = percentile(latencies, 99)
        // VmHWM, not ru_maxrss (which, started from a larger process, reports that process's peak).
        var rss = ProcessMemory.peakResidentBytes() ?? 0
        if rss == 0 {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            rss = Int(usage.ru_maxrss) * 1024 // Linux reports KiB
        }
        switch format {
        case .json:
            let latency = p50.map { "\"latency_p50_s\":\($0),\"latency_p99_s\":\(p99!)," } ?? ""
            write("{\"pairs\":\(input.count),\"seconds\":\(best),\"pairs_per_second\":\(Double(input.count) / best),\(latency)"
                  + "\"peak_rss_bytes\":\(rss),\"load_seconds\":\(load),\"batch_size\":\(model.batchSize),\"threads\":\(Kernels.threads)}\n")
        case .text:
            write(String(format: "%d pairs in %.3f s: %.1f pairs/s, peak RSS %.1f MB, load + first score %.1f ms\n",
                         input.count, best, Double(input.count) / best, Double(rss) / 1e6, load * 1e3))
            if let p50, let p99 { write(String(format: "batch-1 latency p50 %.2f ms, p99 %.2f ms\n", p50 * 1e3, p99 * 1e3)) }
        }
    }

    /// Linear interpolation between closest ranks (numpy.percentile's default), nil for no samples.
    func percentile(_ xs: [Double], _ p: Double) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted(), pos = p / 100 * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }
}

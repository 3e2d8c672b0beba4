import ArgumentParser
import CECore
import CERuntime
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
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
        for _ in 0..<max(1, repetitions) {
            let s = Date()
            _ = try ce.logits(input, batchSize: model.batchSize)
            best = min(best, Date().timeIntervalSince(s))
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let rss = Int(usage.ru_maxrss) * 1024 // Linux reports KiB
        switch format {
        case .json:
            write("{\"pairs\":\(input.count),\"seconds\":\(best),\"pairs_per_second\":\(Double(input.count) / best),"
                  + "\"peak_rss_bytes\":\(rss),\"load_seconds\":\(load),\"batch_size\":\(model.batchSize),\"threads\":\(Kernels.threads)}\n")
        case .text:
            write(String(format: "%d pairs in %.3f s: %.1f pairs/s, peak RSS %.1f MB, load + first score %.1f ms\n",
                         input.count, best, Double(input.count) / best, Double(rss) / 1e6, load * 1e3))
        }
    }
}

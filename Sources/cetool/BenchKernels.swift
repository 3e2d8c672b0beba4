import CECore
import ArgumentParser
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels",
        abstract: "GFLOP/s of the fp32 (OpenBLAS) and int8 linear kernels on a cross-encoder's shapes; for bench/README's roofline.")

    @Option(help: "Rows (tokens) per call.")
    var rows: Int = 1024

    @Option(help: "hidden,intermediate sizes.")
    var shape: String = "384,1536"

    @Option(help: "Input positions per weight scale for the grouped int8 kernel (even).")
    var group: Int = 64

    @Option(help: "Workers.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 1

    func validate() throws {
        let dims = shape.split(separator: ",").compactMap { Int($0) }
        guard dims.count == 2, dims.allSatisfy({ $0 > 0 }), rows > 0 else { throw ValidationError("--shape hidden,intermediate") }
        guard group > 0, group % 2 == 0 else { throw ValidationError("--group must be even and positive") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1; got \(threads)") }
    }

    func run() throws {
        let dims = shape.split(separator: ",").compactMap { Int($0) }
        let (d, f) = (dims[0], dims[1])
        Kernels.setThreads(threads)
        write("kernel, m x n x k, threads \(threads): GFLOP/s (2·m·n·k per call)\n")
        for (n, k) in [(3 * d, d), (f, d), (d, f)] {
            let m = rows
            var rng = SystemRandomNumberGenerator()
            let x = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            var y = [Float](repeating: 0, count: m * n)
            let fp32 = time { Kernels.linear(x, w, nil, &y, m: m, n: n, k: k) }
            // int8 activations: quantize to u8 rows + u8 × s8 GEMM + epilogue, as the executor runs it.
            let qw = (0..<(n * k)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let scales = [Float](repeating: 0.01, count: n)
            let weight = Kernels.Int8Linear(weights: qw, scales: scales, n: n, k: k)
            let int8 = time { weight.run(x, &y, m: m) }
            // The artifact default: int16 activations, per channel and per group of `group` inputs.
            let s16 = Kernels.Int8Linear(weights: qw, scales: scales, n: n, k: k, int16Activations: true)
            let int16 = time { s16.run(x, &y, m: m) }
            let groups = (k + group - 1) / group
            let grouped = Kernels.Int8Linear(weights: qw, scales: [Float](repeating: 0.01, count: n * groups), n: n, k: k,
                                             group: group, int16Activations: true)
            let int16g = time { grouped.run(x, &y, m: m) }
            let int8Grouped = Kernels.Int8Linear(weights: qw, scales: [Float](repeating: 0.01, count: n * groups), n: n, k: k, group: group)
            let int8g = time { int8Grouped.run(x, &y, m: m) }
            let flop = 2.0 * Double(m * n * k)
            write(String(format: "  %5d x %5d x %5d   fp32 %7.1f   int8 act %7.1f   int8 act, groups %7.1f   int16 act %7.1f   int16 act, groups of %d %7.1f   (int8: %@; int16: %@)\n",
                         m, n, k, flop / fp32 / 1e9, flop / int8 / 1e9, flop / int8g / 1e9, flop / int16 / 1e9, group, flop / int16g / 1e9,
                         Kernels.u8s8Path, Kernels.packedInt8Path))
        }
    }

    func time(_ body: () -> Void) -> Double {
        body()
        var calls = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds { body(); calls += 1 }
        return Date().timeIntervalSince(start) / Double(max(calls, 1))
    }
}

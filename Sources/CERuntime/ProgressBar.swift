import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// A one-line progress bar on standard error, drawn only when asked for (`showProgressBar`), as
/// sentence-transformers' tqdm bar. Redraws at most every 100 ms.
public final class ProgressBar {
    private let total: Int
    private let label: String
    private let unit: String
    private var lastDraw = Date.distantPast
    private let start = Date()

    public init(total: Int, label: String, unit: String = "pairs") {
        self.total = max(total, 1)
        self.label = label
        self.unit = unit
        draw(done: 0)
    }

    public func update(done: Int) {
        if Date().timeIntervalSince(lastDraw) >= 0.1 || done >= total { draw(done: done) }
    }

    public func finish() {
        StandardStreams.writeError("\n")
    }

    private func draw(done: Int) {
        lastDraw = Date()
        let width = 30
        let filled = min(width, done * width / total)
        let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
        let bar = String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r\(label): \(done * 100 / total)%|\(bar)| \(done)/\(total) [\(String(format: "%.1f", rate)) \(unit)/s]"
        StandardStreams.writeError(line)
    }
}

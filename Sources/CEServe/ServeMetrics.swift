import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Counters and histograms for `GET /metrics`, rendered in the Prometheus text exposition format (version 0.0.4).
/// Every mutation takes one lock; values are read under the same lock when rendering.
public final class ServeMetrics: @unchecked Sendable {
    /// Cumulative histogram: counts[i] = observations <= bounds[i]; +Inf is `count`.
    struct Histogram {
        let bounds: [Double]
        var counts: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
        init(bounds: [Double]) { self.bounds = bounds; counts = [UInt64](repeating: 0, count: bounds.count) }
        mutating func observe(_ v: Double) {
            for i in bounds.indices where v <= bounds[i] { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    /// The model a batching queue runs: its batch and queue figures are families of their own.
    public enum Model: Sendable {
        /// `cetool_batch_pairs`, `cetool_pairs_scored_total`, `cetool_queue_pairs`, …
        case crossEncoder
        /// `cetool_embed_batch_texts`, `cetool_texts_embedded_total`, `cetool_embed_queue_texts`, …
        case biEncoder
    }

    /// One queue's batches and backlog.
    struct QueueStats {
        /// Sequences (pairs or texts) and tokens per shared batch (one `BatchQueue.Run` call).
        var batchSequences = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        var batchTokens = Histogram(bounds: [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768])
        var batchSeconds = 0.0
        var done: UInt64 = 0
        var queuedSequences = 0
        var queuedRequests = 0
    }

    private let lock = PosixLock()
    /// (route, status) -> requests answered.
    private var requests: [String: [Int: UInt64]] = [:]
    /// route -> seconds from the request's arrival to its response.
    private var latency: [String: Histogram] = [:]
    private static let latencyBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private var cross = QueueStats()
    private var bi = QueueStats()
    /// Whether a bi-encoder is served (its families are rendered).
    public let servesBiEncoder: Bool
    private var inFlight = 0
    private var rejectedFull: UInt64 = 0
    private var timedOut: UInt64 = 0

    public init(servesBiEncoder: Bool = false) { self.servesBiEncoder = servesBiEncoder }

    func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    public func requestStarted() { locked { inFlight += 1 } }

    public func requestFinished(route: String, status: Int, seconds: Double) {
        locked {
            inFlight -= 1
            requests[route, default: [:]][status, default: 0] += 1
            latency[route, default: Histogram(bounds: Self.latencyBounds)].observe(seconds)
        }
    }

    func batch(_ model: Model, pairs: Int, tokens: Int, seconds: Double) {
        locked {
            func add(_ q: inout QueueStats) {
                q.batchSequences.observe(Double(pairs))
                q.batchTokens.observe(Double(tokens))
                q.batchSeconds += seconds
                q.done += UInt64(pairs)
            }
            if model == .crossEncoder { add(&cross) } else { add(&bi) }
        }
    }

    func queue(_ model: Model, pairs: Int, requests: Int) {
        locked {
            if model == .crossEncoder { (cross.queuedSequences, cross.queuedRequests) = (pairs, requests) } else { (bi.queuedSequences, bi.queuedRequests) = (pairs, requests) }
        }
    }

    func rejected() { locked { rejectedFull += 1 } }
    func expired() { locked { timedOut += 1 } }

    /// Prometheus text format; families and label sets in a fixed (sorted) order.
    public func render() -> String {
        locked {
            var o = ""
            func family(_ name: String, _ type: String, _ help: String) { o += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
            func hist(_ name: String, _ h: Histogram, _ labels: String) {
                let sep = labels.isEmpty ? "" : ","
                for (b, c) in zip(h.bounds, h.counts) { o += "\(name)_bucket{\(labels)\(sep)le=\"\(fmt(b))\"} \(c)\n" }
                o += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(h.count)\n"
                let l = labels.isEmpty ? "" : "{\(labels)}"
                o += "\(name)_sum\(l) \(fmt(h.sum))\n\(name)_count\(l) \(h.count)\n"
            }
            family("cetool_requests_total", "counter", "HTTP requests answered, by route and status code.")
            for route in requests.keys.sorted() {
                for (status, n) in requests[route]!.sorted(by: { $0.key < $1.key }) {
                    o += "cetool_requests_total{route=\"\(route)\",status=\"\(status)\"} \(n)\n"
                }
            }
            family("cetool_request_duration_seconds", "histogram", "Seconds from a request's arrival to its response, by route.")
            for route in latency.keys.sorted() { hist("cetool_request_duration_seconds", latency[route]!, "route=\"\(route)\"") }
            func queueFamilies(_ q: QueueStats, _ p: String, _ unit: String, _ done: String, _ doneHelp: String) {
                family("cetool_\(p)batch_\(unit)", "histogram", "\(unit.capitalized) per shared forward batch.")
                hist("cetool_\(p)batch_\(unit)", q.batchSequences, "")
                family("cetool_\(p)batch_tokens", "histogram", "Tokens per shared forward batch.")
                hist("cetool_\(p)batch_tokens", q.batchTokens, "")
                family("cetool_\(p)batch_seconds_total", "counter", "Seconds spent in forward batches.")
                o += "cetool_\(p)batch_seconds_total \(fmt(q.batchSeconds))\n"
                family(done, "counter", doneHelp)
                o += "\(done) \(q.done)\n"
                family("cetool_\(p)queue_\(unit)", "gauge", "\(unit.capitalized) waiting in the batching queue (not yet run).")
                o += "cetool_\(p)queue_\(unit) \(q.queuedSequences)\n"
                family("cetool_\(p)queue_requests", "gauge", "Requests with \(unit) waiting in the batching queue.")
                o += "cetool_\(p)queue_requests \(q.queuedRequests)\n"
            }
            queueFamilies(cross, "", "pairs", "cetool_pairs_scored_total", "Pairs scored.")
            if servesBiEncoder { queueFamilies(bi, "embed_", "texts", "cetool_texts_embedded_total", "Texts embedded (/embed inputs and /search queries).") }
            family("cetool_requests_in_flight", "gauge", "Requests received and not yet answered.")
            o += "cetool_requests_in_flight \(inFlight)\n"
            family("cetool_queue_rejected_total", "counter", "Requests refused with 429 because the queue was full.")
            o += "cetool_queue_rejected_total \(rejectedFull)\n"
            family("cetool_queue_timeouts_total", "counter", "Requests that passed their timeout before being scored.")
            o += "cetool_queue_timeouts_total \(timedOut)\n"
            return o
        }
    }

    private func fmt(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)" }
}

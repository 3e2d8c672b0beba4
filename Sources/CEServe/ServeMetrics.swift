import Foundation

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

    private let lock = NSLock()
    /// (route, status) -> requests answered.
    private var requests: [String: [Int: UInt64]] = [:]
    /// route -> seconds from the request's arrival to its response.
    private var latency: [String: Histogram] = [:]
    private static let latencyBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Pairs and tokens per shared batch (one `Executor.logits` call).
    private var batchPairs = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
    private var batchTokens = Histogram(bounds: [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768])
    private var batchSeconds = 0.0
    private var pairsScored: UInt64 = 0
    private var queuedPairs = 0
    private var queuedRequests = 0
    private var inFlight = 0
    private var rejectedFull: UInt64 = 0
    private var timedOut: UInt64 = 0

    public init() {}

    func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    public func requestStarted() { locked { inFlight += 1 } }

    public func requestFinished(route: String, status: Int, seconds: Double) {
        locked {
            inFlight -= 1
            requests[route, default: [:]][status, default: 0] += 1
            latency[route, default: Histogram(bounds: Self.latencyBounds)].observe(seconds)
        }
    }

    func batch(pairs: Int, tokens: Int, seconds: Double) {
        locked {
            batchPairs.observe(Double(pairs))
            batchTokens.observe(Double(tokens))
            batchSeconds += seconds
            pairsScored += UInt64(pairs)
        }
    }

    func queue(pairs: Int, requests: Int) { locked { queuedPairs = pairs; queuedRequests = requests } }
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
            family("cetool_batch_pairs", "histogram", "Pairs per shared forward batch.")
            hist("cetool_batch_pairs", batchPairs, "")
            family("cetool_batch_tokens", "histogram", "Tokens per shared forward batch.")
            hist("cetool_batch_tokens", batchTokens, "")
            family("cetool_batch_seconds_total", "counter", "Seconds spent in forward batches.")
            o += "cetool_batch_seconds_total \(fmt(batchSeconds))\n"
            family("cetool_pairs_scored_total", "counter", "Pairs scored.")
            o += "cetool_pairs_scored_total \(pairsScored)\n"
            family("cetool_queue_pairs", "gauge", "Pairs waiting in the batching queue (not yet scored).")
            o += "cetool_queue_pairs \(queuedPairs)\n"
            family("cetool_queue_requests", "gauge", "Requests with pairs waiting in the batching queue.")
            o += "cetool_queue_requests \(queuedRequests)\n"
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

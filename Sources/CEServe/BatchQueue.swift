import CECore
import CERuntime
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Why the queue did not score a request's pairs.
public enum QueueError: Error, Equatable {
    /// Accepting the pairs would put more than `capacity` pairs in the queue.
    case full(capacity: Int)
    /// The request's deadline passed before all its pairs were scored.
    case timedOut(seconds: Double)
    /// The queue is stopping (the server is shutting down).
    case stopped
    /// The model refused the batch (a runtime error message).
    case model(String)
}

/// Runs the sequences (cross-encoder pairs, or bi-encoder texts) of concurrent requests in shared forward passes on
/// one dedicated thread, so BLAS work never runs on NIO event loops or the Swift concurrency pool. Every queue's
/// passes hold `BatchQueue.compute`, so a cross-encoder and a bi-encoder served together take turns on the CPUs.
///
/// Invariants: requests are served first in, first out; a batch holds pairs of one or more requests, at most
/// `maxBatchTokens` tokens (or one sequence, if that alone is longer); a request larger than a batch is split over
/// consecutive batches; the thread waits at most `maxWait` after the oldest waiting pair arrived before it runs a
/// batch that is not full; at most `capacity` pairs wait at once.
public final class BatchQueue: @unchecked Sendable {
    public struct Limits: Sendable {
        /// Tokens (incl. special tokens, after truncation) per shared batch.
        public var maxBatchTokens: Int
        /// Seconds a batch waits to fill.
        public var maxWait: Double
        /// Pairs waiting at most; a request that would exceed it is refused (`QueueError.full`).
        public var capacity: Int
        public init(maxBatchTokens: Int, maxWait: Double, capacity: Int) {
            self.maxBatchTokens = maxBatchTokens
            self.maxWait = maxWait
            self.capacity = capacity
        }
    }

    /// One shared batch: the sequences and, for each, its request's tag -> one row per sequence, in order.
    public typealias Run = @Sendable (_ sequences: [TokenSequence], _ tags: [Int]) throws -> [[Float]]

    /// Held around every forward pass of every queue (and the index search of /search).
    public static let compute = PosixLock()

    final class Job {
        let sequences: [TokenSequence]
        let tag: Int
        var rows: [[Float]]
        /// sequences[next...] are not yet in a batch; `done` rows are filled.
        var next = 0
        var done = 0
        var failed = false
        let arrival: Double
        let deadline: Double
        let continuation: CheckedContinuation<[[Float]], Error>
        init(_ s: [TokenSequence], tag: Int, arrival: Double, deadline: Double, continuation: CheckedContinuation<[[Float]], Error>) {
            sequences = s
            self.tag = tag
            rows = [[Float]](repeating: [], count: s.count)
            self.arrival = arrival
            self.deadline = deadline
            self.continuation = continuation
        }
    }

    public let limits: Limits
    let run: Run
    let metrics: ServeMetrics
    /// Which model's batch and queue figures this queue reports.
    let model: ServeMetrics.Model
    private let cond = PosixCondition()
    /// Jobs with pairs not yet in a batch, oldest first.
    private var waiting: [Job] = []
    private var waitingPairs = 0
    private var waitingTokens = 0
    private var stopping = false
    private var thread: PosixThread?
    private let finished = DispatchSemaphore(value: 0)

    public init(limits: Limits, metrics: ServeMetrics, model: ServeMetrics.Model, run: @escaping Run) {
        self.run = run
        self.limits = limits
        self.metrics = metrics
        self.model = model
    }

    /// A cross-encoder's queue: rows are raw logits (Executor.logits); tags are not used.
    public convenience init(executor: Executor, limits: Limits, metrics: ServeMetrics) {
        self.init(limits: limits, metrics: metrics, model: .crossEncoder) { s, _ in try executor.logits(s) }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    public func start() {
        let t = PosixThread { [self] in loop() }
        t.name = "cetool-model"
        t.stackSize = 8 << 20
        thread = t
        t.start()
    }

    /// Stops after every accepted job is answered; later submissions throw `.stopped`.
    public func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        cond.unlock()
        if thread != nil { finished.wait() }
    }

    /// `run`'s rows for `sequences` in input order (a cross-encoder: raw logits, [sequences.count][numLabels]).
    /// `tag` travels with each sequence into `run`.
    public func submit(_ sequences: [TokenSequence], tag: Int = 0, timeout: Double) async throws -> [[Float]] {
        if sequences.isEmpty { return [] }
        return try await withCheckedThrowingContinuation { c in
            cond.lock()
            defer { cond.unlock() }
            if stopping { c.resume(throwing: QueueError.stopped); return }
            guard waitingPairs + sequences.count <= limits.capacity else {
                metrics.rejected()
                c.resume(throwing: QueueError.full(capacity: limits.capacity))
                return
            }
            let t = Self.now()
            waiting.append(Job(sequences, tag: tag, arrival: t, deadline: t + timeout, continuation: c))
            waitingPairs += sequences.count
            waitingTokens += sequences.reduce(0) { $0 + $1.ids.count }
            metrics.queue(model, pairs: waitingPairs, requests: waiting.count)
            cond.signal()
        }
    }

    private func loop() {
        while let batch = nextBatch() {
            let seqs = batch.map { $0.job.sequences[$0.index] }
            let tokens = seqs.reduce(0) { $0 + $1.ids.count }
            Self.compute.lock()
            let start = Self.now()
            var result: Result<[[Float]], Error> = Result { try run(seqs, batch.map { $0.job.tag }) }
            if case .success(let rows) = result, rows.count != seqs.count {
                result = .failure(QueueError.model("\(rows.count) rows for a batch of \(seqs.count) sequences"))
            }
            let seconds = Self.now() - start
            Self.compute.unlock()
            metrics.batch(model, pairs: seqs.count, tokens: tokens, seconds: seconds)
            deliver(batch, result)
        }
        finished.signal()
    }

    /// Waits for work, then takes up to maxBatchTokens of waiting pairs, oldest request first. Expired requests are
    /// answered with `.timedOut` here. nil once stopping with nothing left.
    private func nextBatch() -> [(job: Job, index: Int)]? {
        cond.lock()
        defer { cond.unlock() }
        while true {
            while waiting.isEmpty {
                if stopping { return nil }
                cond.wait()
            }
            // Fill: wait until a full batch is waiting, the oldest pair has waited maxWait, or we are stopping.
            while !stopping, waitingTokens < limits.maxBatchTokens, let first = waiting.first {
                let until = first.arrival + limits.maxWait
                let now = Self.now()
                if now >= until { break }
                _ = cond.wait(until: Date(timeIntervalSinceNow: until - now))
            }
            expire(at: Self.now())
            if waiting.isEmpty { continue }
            var batch: [(job: Job, index: Int)] = []
            var tokens = 0
            outer: for job in waiting {
                while job.next < job.sequences.count {
                    let n = job.sequences[job.next].ids.count
                    if !batch.isEmpty, tokens + n > limits.maxBatchTokens { break outer }
                    batch.append((job, job.next))
                    tokens += n
                    job.next += 1
                }
            }
            waitingTokens -= tokens
            waitingPairs -= batch.count
            waiting.removeAll { $0.next == $0.sequences.count }
            metrics.queue(model, pairs: waitingPairs, requests: waiting.count)
            return batch
        }
    }

    /// Answers waiting jobs whose deadline has passed (lock held). A job partly in a running batch is marked failed
    /// and answered once; its remaining rows are discarded.
    private func expire(at now: Double) {
        var kept: [Job] = []
        for job in waiting {
            if now < job.deadline { kept.append(job); continue }
            let rest = job.sequences[job.next...]
            waitingPairs -= rest.count
            waitingTokens -= rest.reduce(0) { $0 + $1.ids.count }
            job.next = job.sequences.count
            if !job.failed {
                job.failed = true
                metrics.expired()
                job.continuation.resume(throwing: QueueError.timedOut(seconds: job.deadline - job.arrival))
            }
        }
        waiting = kept
    }

    private func deliver(_ batch: [(job: Job, index: Int)], _ result: Result<[[Float]], Error>) {
        cond.lock()
        var complete: [Job] = []
        var failedNow: [Job] = []
        switch result {
        case .success(let rows):
            for ((job, i), row) in zip(batch, rows) {
                job.rows[i] = row
                job.done += 1
                if job.done == job.sequences.count, !job.failed { complete.append(job) }
            }
        case .failure:
            var seen = Set<ObjectIdentifier>()
            for (job, _) in batch where seen.insert(ObjectIdentifier(job)).inserted && !job.failed {
                job.failed = true
                let rest = job.sequences[job.next...]
                waitingPairs -= rest.count
                waitingTokens -= rest.reduce(0) { $0 + $1.ids.count }
                job.next = job.sequences.count
                failedNow.append(job)
            }
            waiting.removeAll { $0.failed }
        }
        cond.unlock()
        for job in complete { job.continuation.resume(returning: job.rows) }
        if case .failure(let e) = result {
            for job in failedNow { job.continuation.resume(throwing: QueueError.model("\(e)")) }
        }
    }
}

import CECore
import CEGraph
import CEImport
import CEQuant
import CERuntime
import CEVerify

/// convert's per-linear choice between int8 inputs (the u8 × s8 kernel, about twice the int16 kernel's speed with
/// VNNI) and int16 inputs (rounding error about 1/100 of int8's), from the calibration pairs (formats/quantization.md,
/// "Choosing int8 activations per linear"):
/// 1. each linear's sensitivity: the mean |Δlogit| against the fp32 model, on the probe pairs, with that linear alone on
///    int8 inputs and every other on int16;
/// 2. linears in order of sensitivity (least first, ties in plan order); the longest prefix on int8 whose artifact
///    still meets `margin` (the int8 profile with every bound halved) against the fp32 model on every calibration pair,
///    found by bisection (a prefix meeting it is assumed to stay met by a shorter one);
/// 3. none when even all-int16 misses the margin (checked first, so then nothing else runs): int16 everywhere, as
///    `--activations int16` (convert's default).
enum ActivationChoice {
    /// The verifier's int8 profile (formats/golden.md) with each bound halved: calibration pairs are not held out from
    /// the weight rounding, and the goldens are other text.
    static let margin: ToleranceProfile = {
        var p = ToleranceProfile.int8
        p.name = "int8, bounds halved"
        p.logitRelative /= 2
        p.nearTieAbsolute /= 2
        if let m = p.maxMeanLogitDeltaPerStd { p.maxMeanLogitDeltaPerStd = m / 2 }
        if let m = p.minLabelAgreement { p.minLabelAgreement = 1 - (1 - m) / 2 }
        if let m = p.minMeanSpearman { p.minMeanSpearman = 1 - (1 - m) / 2 }
        p.minTop1 = 1 - (1 - p.minTop1) / 2
        return p
    }()

    /// Probe pairs for the sensitivities: every `stride`-th query's list (all of its pairs), about a quarter of the set.
    static let probeStride = 4

    struct Result {
        var plan: [Quantize.Plan.LinearActivations]
        var record: JSONValue
    }

    /// `model` holds the quantized graph; `reference` is the fp32 model on the calibration pairs.
    static func choose(_ model: ImportedModel, linears: [String], reference: Verifier.Reference, threads: Int?) throws -> Result {
        func run(_ int8: Set<String>, _ ref: Verifier.Reference, _ profile: ToleranceProfile) throws -> Verifier.SetReport {
            var modes: [String: ActivationMode] = [:]
            for l in linears { modes[l] = int8.contains(l) ? .int8 : .int16 }
            let ce = try CrossEncoder(model: model, activationPlan: ActivationPlan(perLinear: modes), threads: threads)
            return try Verifier.compare(ce, reference: ref, profile: profile, batchSize: 32)
        }
        let record = { (n: Int) -> JSONValue in .object([
            ("method", .string("per linear: sensitivity (mean |Δlogit| against the fp32 model with that linear alone on int8 inputs) on every \(probeStride)th calibration list, then the longest least-sensitive prefix on int8 whose artifact meets the int8 profile with every bound halved against the fp32 model on every calibration pair")),
            ("int8_linears", .int(Int64(n))), ("linears", .int(Int64(linears.count))),
        ]) }
        // All-int16 missing the margin leaves nothing to choose: no sensitivities are measured.
        guard try run([], reference, margin).passed else {
            return Result(plan: linears.map { .init(linear: $0, activations: .int16) }, record: record(0))
        }
        let probe = probeSet(reference)
        let base = try run([], probe, margin).meanLogitDelta
        var sensitivity: [(linear: String, delta: Double, index: Int)] = []
        for (i, l) in linears.enumerated() { sensitivity.append((l, try run([l], probe, margin).meanLogitDelta - base, i)) }
        let order = sensitivity.sorted { ($0.delta, $0.index) < ($1.delta, $1.index) }.map(\.linear)
        // Bisection on the prefix length: lo meets the margin (0 does, checked above), hi does not (unless lo = hi = count).
        var lo = 0, hi = order.count
        if try run(Set(order), reference, margin).passed { lo = order.count }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if try run(Set(order.prefix(mid)), reference, margin).passed { lo = mid } else { hi = mid }
        }
        let chosen = Set(order.prefix(lo))
        let plan = linears.map { Quantize.Plan.LinearActivations(linear: $0, activations: chosen.contains($0) ? .int8 : .int16) }
        return Result(plan: plan, record: record(chosen.count))
    }

    /// Every `probeStride`-th list of `r` with the cases of its pairs (every case when `r` has no lists).
    static func probeSet(_ r: Verifier.Reference) -> Verifier.Reference {
        guard !r.lists.isEmpty else { return r }
        let lists = r.lists.enumerated().filter { $0.offset % probeStride == 0 }.map(\.element)
        let queries = Set(lists.map(\.query))
        return Verifier.Reference(name: r.name + " (probe)", maxLength: r.maxLength, cases: r.cases.filter { queries.contains($0.query) }, lists: lists)
    }
}

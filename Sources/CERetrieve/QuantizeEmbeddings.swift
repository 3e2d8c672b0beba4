/// Output precisions of sentence-transformers' quantize_embeddings.
public enum EmbeddingPrecision: String, Sendable, CaseIterable {
    case float32, int8, uint8, binary, ubinary
}

/// Per-dimension calibration ranges: row 0 the minimum, row 1 the maximum (float32, shape (2, dim)).
public struct QuantizationRanges: Equatable, Sendable {
    public var minimum: [Float]
    public var maximum: [Float]
    public init(minimum: [Float], maximum: [Float]) { self.minimum = minimum; self.maximum = maximum }
}

/// util.quantize_embeddings (sentence-transformers 6.2), reproduced bit for bit on float32 input.
/// int8 / uint8: starts = ranges[0], steps = (ranges[1] - starts) / 255 (float32; a zero step becomes 1),
/// q = clip(floor((x - starts) / steps), 0, 255); uint8 keeps q, int8 stores q - 128.
/// binary / ubinary: np.packbits(x > 0) along the row (first dimension in the high bit, the last byte zero-padded);
/// ubinary keeps the bytes, binary stores byte - 128 as int8.
public enum QuantizeEmbeddings {
    /// _get_quantization_ranges: per-dimension min and max of `calibration` (at least two rows: the reference refuses one).
    public static func ranges(of calibration: Embeddings) throws -> QuantizationRanges {
        guard calibration.count >= 2 else { throw RetrieveError.rangesFromSingleEmbedding }
        var lo = Array(calibration.row(0)), hi = lo
        for r in 1..<calibration.count {
            for (t, v) in calibration.row(r).enumerated() {
                // np.min / np.max propagate NaN
                if v.isNaN || v < lo[t] { if !lo[t].isNaN { lo[t] = v } }
                if v.isNaN || v > hi[t] { if !hi[t].isNaN { hi[t] = v } }
            }
        }
        return QuantizationRanges(minimum: lo, maximum: hi)
    }

    /// uint8 codes (count × dim); ranges from `ranges`, else from `calibration`, else from `embeddings` themselves.
    public static func uint8(_ embeddings: Embeddings, ranges: QuantizationRanges? = nil, calibration: Embeddings? = nil) throws -> [UInt8] {
        try buckets(embeddings, ranges: ranges, calibration: calibration).map { UInt8($0) }
    }

    public static func int8(_ embeddings: Embeddings, ranges: QuantizationRanges? = nil, calibration: Embeddings? = nil) throws -> [Int8] {
        try buckets(embeddings, ranges: ranges, calibration: calibration).map { Int8(Int($0) - 128) }
    }

    /// The ranges quantize_embeddings uses for these arguments.
    public static func resolveRanges(_ embeddings: Embeddings, ranges: QuantizationRanges?, calibration: Embeddings?) throws -> QuantizationRanges {
        let r = try ranges ?? QuantizeEmbeddings.ranges(of: calibration ?? embeddings)
        guard r.minimum.count == embeddings.dimension, r.maximum.count == embeddings.dimension else {
            throw RetrieveError.shapeMismatch(what: "quantization ranges", expected: "2 x \(embeddings.dimension)", got: r.minimum.count + r.maximum.count)
        }
        return r
    }

    /// Bucket 0...255 of every value, row-major.
    static func buckets(_ e: Embeddings, ranges: QuantizationRanges?, calibration: Embeddings?) throws -> [UInt8] {
        if e.count == 0 { return [] }
        let r = try resolveRanges(e, ranges: ranges, calibration: calibration)
        let steps = (0..<e.dimension).map { t -> Float in
            let s = (r.maximum[t] - r.minimum[t]) / 255
            return s == 0 ? 1 : s
        }
        var out = [UInt8](repeating: 0, count: e.values.count)
        for i in 0..<e.count {
            for t in 0..<e.dimension {
                let q = ((e.values[i * e.dimension + t] - r.minimum[t]) / steps[t]).rounded(.down)
                guard !q.isNaN else { throw RetrieveError.notFinite(row: i, column: t) }
                out[i * e.dimension + t] = UInt8(min(max(q, 0), 255))
            }
        }
        return out
    }

    /// Packed sign bits, (dim + 7) / 8 bytes per row.
    public static func ubinary(_ e: Embeddings) -> [UInt8] {
        let width = (e.dimension + 7) / 8
        var out = [UInt8](repeating: 0, count: e.count * width)
        for i in 0..<e.count {
            for t in 0..<e.dimension where e.values[i * e.dimension + t] > 0 {
                out[i * width + t / 8] |= UInt8(0x80) >> UInt8(t % 8)
            }
        }
        return out
    }

    public static func binary(_ e: Embeddings) -> [Int8] {
        ubinary(e).map { Int8(Int($0) - 128) }
    }

    /// _dequantize_embeddings: code * step + start in float64, for int8 codes (+128 first) or uint8 codes.
    public static func dequantize(code: Int, dimension t: Int, ranges r: QuantizationRanges, signed: Bool) -> Double {
        var s = (r.maximum[t] - r.minimum[t]) / 255
        if s == 0 { s = 1 }
        return Double(signed ? code + 128 : code) * Double(s) + Double(r.minimum[t])
    }
}

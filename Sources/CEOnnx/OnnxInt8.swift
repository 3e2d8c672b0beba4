import CECore
import CEGraph

/// The int8 tensors of a cetool artifact in ONNX (formats/onnx.md, "int8"): the artifact's own codes and scales,
/// never re-quantized. A linear is com.microsoft `MatMulNBits` with bits 8 (ONNX Runtime's block-quantized matmul):
/// B [N, blocks, block] = code + 128 (the op's default zero point for 8 bits is 128, so B − 128 is the code),
/// scales [N · blocks] = the artifact's scale of the group each block lies in, input x·f (the smoothing vector, one
/// fp32 Mul) when the linear is smoothed, bias by Add. The int8 token embedding is gathered as int8 rows and widened
/// by the row's scales (q · scale, one fp32 multiply). Everything fp32 in the artifact stays fp32.
extension OnnxGraphExport.Emitter {
    /// ONNX Runtime's contrib operator domain (MatMulNBits).
    static let contribDomain = "com.microsoft"
    /// MatMulNBits `accuracy_level`: 0, the weights dequantized to fp32 and multiplied in fp32 (formats/onnx.md,
    /// "int8": level 4 quantizes inputs per block to int8 and reorders MiniLM-L6's ranked lists past the int8 profile).
    static let int8AccuracyLevel: Int64 = 0

    func isInt8(_ name: String) -> Bool { graph.weights[name]?.dtype == .i8 }

    func tensor(_ name: String) throws -> Tensor {
        guard let t = graph.weights[name] else { throw GraphError.missingWeight(name: name) }
        return t
    }

    /// y = (x · f) · Wᵀ (+ b), W [out, in] = code · scale: MatMulNBits over the artifact's int8 codes.
    func int8Linear(_ input: String, _ name: Layer, scope: String) throws -> String {
        let w = try tensor(name.weight), scaleName = TensorName.scale(of: name.weight)
        let s = try tensor(scaleName)
        guard w.shape.rank == 2 else { throw GraphError.shapeMismatch(name: name.weight, expected: [0, 0], actual: w.shape) }
        let n = w.shape.dims[0], k = w.shape.dims[1]
        // Positions per scale: the graph's group size for [out, groups] scales, the whole row for [out].
        let group = s.shape.rank == 2 && graph.weightGroupSize > 0 ? graph.weightGroupSize : k
        let block = try Self.blockSize(group: group, inputs: k, scale: scaleName)
        var x = input
        let smooth = TensorName.smooth(of: name.weight)
        if has(smooth) { x = b.op("Mul", [x, try weight(smooth)], scope: scope) }
        let (codes, scales) = Self.blocks(w, s, group: group, block: block)
        let blocks = Int64((k + block - 1) / block)
        let bq = b.initializer(Onnx.Tensor(name: name.weight + ".q8", dataType: .uint8, dims: [Int64(n), blocks, Int64(block)], raw: codes))
        let bs = b.initializer(Onnx.Tensor(name: scaleName + ".blocks", dataType: .float, dims: [Int64(n) * blocks],
                                           raw: OnnxGraphBuilder.bytes(scales)))
        let y = b.add("MatMulNBits", [x, bq, bs], [.init("K", .int(Int64(k))), .init("N", .int(Int64(n))), .init("bits", .int(8)),
                                                   .init("block_size", .int(Int64(block))),
                                                   .init("accuracy_level", .int(Self.int8AccuracyLevel))],
                      scope: scope, domain: Self.contribDomain)[0]
        guard has(name.bias) else { return y }
        return b.op("Add", [y, try weight(name.bias)], scope: scope)
    }

    /// MatMulNBits' block: a power of two within 16…256 that lies inside one scale group. One group per row (`group`
    /// ≥ `inputs`): 64, or the row rounded up to a power of two when shorter (32 inputs: 32). Groups of G < inputs: the
    /// largest power of two dividing G, at most 256; a G with none ≥ 16 (24, 40, …) cannot be held.
    static func blockSize(group: Int, inputs k: Int, scale: String) throws -> Int {
        if group >= k {
            var p = 16
            while p < min(k, 64) { p *= 2 }
            return p
        }
        var p = 1
        while group % (p * 2) == 0, p * 2 <= 256 { p *= 2 }
        guard p >= 16 else {
            throw OnnxExportError.unsupportedQuantization(
                name: scale, reason: "one scale per \(group) inputs; ONNX Runtime's MatMulNBits blocks are 16…256 inputs, a power of two that divides the group")
        }
        return p
    }

    /// B [N, blocks, block] as code + 128 (positions past `in` hold 128, code 0) and one scale per (row, block): the
    /// scale of the group the block's first input is in. `w` int8 [N, K]; `s` fp32 [N] or [N, ceil(K / group)].
    static func blocks(_ w: Tensor, _ s: Tensor, group: Int, block: Int) -> (codes: [UInt8], scales: [Float]) {
        let n = w.shape.dims[0], k = w.shape.dims[1], nb = (k + block - 1) / block
        let groups = s.shape.rank == 2 ? s.shape.dims[1] : 1
        var codes = [UInt8](repeating: 128, count: n * nb * block)
        var scales = [Float](repeating: 0, count: n * nb)
        w.storage.bytes.withUnsafeBytes { wb in
            s.storage.bytes.withUnsafeBytes { sb in
                for r in 0..<n {
                    for c in 0..<k { codes[r * nb * block + c] = UInt8(truncatingIfNeeded: Int(Int8(bitPattern: wb[r * k + c])) + 128) }
                    for j in 0..<nb {
                        let g = groups == 1 ? 0 : (j * block) / group
                        scales[r * nb + j] = sb.loadUnaligned(fromByteOffset: 4 * (r * groups + g), as: Float.self)
                    }
                }
            }
        }
        return (codes, scales)
    }

    /// token_embd[ids] as fp32 [B, S, hidden]: a Gather of the table, or for an int8 table a Gather of the int8 rows
    /// widened by their scales, x[c] = q[id, c] · scale[id, ⌊c / G⌋] (formats/quantization.md, "Plan").
    func tokenRows(scope: String) throws -> String {
        let name = TensorName.tokenEmbedding.weight
        guard isInt8(name) else { return b.op("Gather", [try weight(name), "input_ids"], scope: scope) }
        let q = try tensor(name), scaleName = TensorName.scale(of: name), s = try tensor(scaleName)
        let table = b.initializer(Onnx.Tensor(name: name, dataType: .int8, dims: q.shape.dims.map { Int64($0) },
                                              raw: Array(q.storage.bytes.prefix(q.shape.elementCount))))
        let rows = b.op("Cast", [b.op("Gather", [table, "input_ids"], scope: scope)],
                        [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: scope)
        let perRow = b.op("Gather", [try weight(scaleName), "input_ids"], scope: scope)
        let columns = q.shape.dims[1]
        let widened: String
        if s.shape.rank == 2, graph.weightGroupSize > 0 {
            // [B, S, groups] -> [B, S, hidden]: column c takes group ⌊c / G⌋.
            let index = (0..<columns).map { Int64($0 / graph.weightGroupSize) }
            let groupOf = b.initializer(Onnx.Tensor(name: scaleName + ".column_group", dataType: .int64, dims: [Int64(columns)],
                                                    raw: OnnxGraphBuilder.bytes(index)))
            widened = b.op("Gather", [perRow, groupOf], [.init("axis", .int(2))], scope: scope)
        } else {
            widened = b.op("Unsqueeze", [perRow, b.i64([-1])], scope: scope)
        }
        return b.op("Mul", [rows, widened], scope: scope)
    }
}

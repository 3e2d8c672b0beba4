import CECore

extension Safetensors {
    /// Prefix of the U8 entries that pad tensor data to `alignment` (formats/safetensors.md, "Writing").
    public static let paddingPrefix = "__pad__."

    /// The header JSON and data layout of a file holding `tensors` in the given order.
    /// The header is padded with spaces so the data section starts at a multiple of `alignment` (the
    /// reference writer pads to 8). With `padTensors`, every tensor also begins at a multiple of
    /// `alignment` from the file start: a U8 entry `__pad__.<k>` fills any gap before a tensor. The same input always
    /// gives the same bytes: entries in the order given, metadata in the order given.
    public struct Layout {
        public var header: [UInt8]
        /// (tensor index or nil for padding, byte count) in data order.
        public var segments: [(tensor: Int?, bytes: Int)]
        public var fileSize: Int
    }

    public static func layout(_ tensors: [(String, Tensor)], metadata: [(String, String)], alignment: Int = 8, padTensors: Bool = false) throws -> Layout {
        precondition(alignment >= 8 && alignment & (alignment - 1) == 0, "alignment must be a power of two >= 8")
        var names = Set<String>()
        for (name, t) in tensors {
            guard !name.isEmpty, name != "__metadata__", !name.hasPrefix(paddingPrefix), names.insert(name).inserted else {
                throw SafetensorsError.invalidEntry(name: name, reason: "empty, reserved or repeated tensor name")
            }
            guard t.storage.bytes.count == t.shape.elementCount * t.dtype.byteSize else {
                throw SafetensorsError.sizeMismatch(name: name, expected: t.shape.elementCount * t.dtype.byteSize, actual: t.storage.bytes.count)
            }
        }
        // The data start depends on the header length, which depends on the offsets: padding entries are
        // placed relative to the data start, so fix the header's padded length first by iterating.
        var dataStart = alignment
        while true {
            var members: [String] = []
            var segments: [(Int?, Int)] = []
            var offset = 0
            var pad = 0
            if !metadata.isEmpty {
                members.append(JSONWriter.quote("__metadata__") + ":{" + metadata.map { JSONWriter.quote($0.0) + ":" + JSONWriter.quote($0.1) }.joined(separator: ",") + "}")
            }
            for (i, (name, t)) in tensors.enumerated() {
                let misalign = (dataStart + offset) % alignment
                if padTensors, misalign != 0 {
                    let gap = alignment - misalign
                    members.append(JSONWriter.quote(paddingPrefix + String(pad)) + ":{\"dtype\":\"U8\",\"shape\":[\(gap)],\"data_offsets\":[\(offset),\(offset + gap)]}")
                    segments.append((nil, gap))
                    offset += gap
                    pad += 1
                }
                let n = t.storage.bytes.count
                let shape = t.shape.dims.map(String.init).joined(separator: ",")
                members.append(JSONWriter.quote(name) + ":{\"dtype\":\"\(Safetensors.name(of: t.dtype))\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + n)]}")
                segments.append((i, n))
                offset += n
            }
            var header = Array(("{" + members.joined(separator: ",") + "}").utf8)
            let unpadded = 8 + header.count
            let start = (unpadded + alignment - 1) / alignment * alignment
            if start == dataStart || start < dataStart {
                header += [UInt8](repeating: UInt8(ascii: " "), count: dataStart - unpadded)
                guard header.count <= maxHeaderSize else {
                    throw SafetensorsError.headerTooLarge(length: UInt64(header.count), limit: maxHeaderSize)
                }
                return Layout(header: header, segments: segments.map { (tensor: $0.0, bytes: $0.1) }, fileSize: dataStart + offset)
            }
            dataStart = start
        }
    }

    /// Writes a safetensors file to `writer` (see `layout`). Returns the layout written.
    @discardableResult
    public static func write(_ tensors: [(String, Tensor)], metadata: [(String, String)], alignment: Int = 8, padTensors: Bool = false,
                             to writer: FileWriter) throws -> Layout {
        let l = try layout(tensors, metadata: metadata, alignment: alignment, padTensors: padTensors)
        var n = UInt64(l.header.count).littleEndian
        try withUnsafeBytes(of: &n) { try writer.write($0) }
        try writer.write(l.header)
        for s in l.segments {
            if let i = s.tensor { try writer.write(tensors[i].1.storage.bytes) } else { try writer.writeZeros(s.bytes) }
        }
        return l
    }
}

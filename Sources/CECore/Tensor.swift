/// Bytes of a tensor: owned, or a view into a mapping kept alive by `owner`.
public struct TensorStorage: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject

    /// A view into memory owned by `owner` (e.g. a `MappedFile`).
    public init(view: UnsafeRawBufferPointer, owner: AnyObject) {
        self.bytes = view
        self.owner = owner
    }

    /// Owned fp32 values.
    public init(floats: [Float]) {
        let box = OwnedBytes(count: floats.count * 4, alignment: 64)
        floats.withUnsafeBytes { box.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.bytes = UnsafeRawBufferPointer(start: box.pointer, count: floats.count * 4)
        self.owner = box
    }

    /// Owned bytes, 64-byte aligned.
    public init(copying src: UnsafeRawBufferPointer) {
        let box = OwnedBytes(count: src.count, alignment: 64)
        if src.count > 0 { box.pointer.copyMemory(from: src.baseAddress!, byteCount: src.count) }
        self.bytes = UnsafeRawBufferPointer(start: box.pointer, count: src.count)
        self.owner = box
    }

    /// Hands the resident pages of these bytes back to the kernel when they are a view into a file
    /// mapping (MappedFile): for bytes that have been copied into another layout and are not read again.
    /// Reading them later is still correct (the pages come back from the file); owned memory is untouched.
    public func releaseMappedPages() {
        (owner as? MappedFile)?.releasePages(bytes)
    }
}

/// A heap allocation freed when the last reference goes.
public final class OwnedBytes: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let count: Int
    public init(count: Int, alignment: Int) {
        self.count = count
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: alignment)
    }
    deinit { pointer.deallocate() }
}

/// A named tensor: dtype, shape and its bytes (row-major, little-endian).
public struct Tensor: Sendable {
    public var dtype: DType
    public var shape: Shape
    public var storage: TensorStorage

    public init(dtype: DType, shape: Shape, storage: TensorStorage) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    public init(floats: [Float], shape: Shape) {
        precondition(floats.count == shape.elementCount, "element count does not match shape")
        self.init(dtype: .f32, shape: shape, storage: TensorStorage(floats: floats))
    }

    /// The values widened to fp32. Copies.
    public func floatValues() -> [Float]? {
        let n = shape.elementCount
        let b = storage.bytes
        switch dtype {
        case .f32:
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<(n * 4)])) }
            return out
        case .f16:
            return (0..<n).map { floatFromHalfBits(b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        case .bf16:
            return (0..<n).map { floatFromBFloat16Bits(b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        case .f64:
            return (0..<n).map { Float(b.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self)) }
        default:
            return nil
        }
    }
}

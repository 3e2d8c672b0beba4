/// Element types cetool knows. External spellings live in each format's mapping function.
public enum DType: String, Sendable, CaseIterable, Codable {
    case f32, f16, bf16, f64
    case i64, i32, i16, i8
    case u64, u32, u16, u8
    case bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }
}

/// IEEE binary16 -> binary32, exact for every input (incl. subnormals, inf, NaN).
@inlinable
public func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F)
    let mant = UInt32(h & 0x03FF)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        // subnormal: mant * 2^-24
        let v = Float(mant) * Float(bitPattern: 0x3380_0000) // 2^-24
        return sign != 0 ? -v : v
    }
    if exp == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
}

/// bfloat16 -> binary32: the top 16 bits of a binary32.
@inlinable
public func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

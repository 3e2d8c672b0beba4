/// A tensor shape, outermost dimension first (row-major, as PyTorch and safetensors store it).
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public var rank: Int { dims.count }

    /// Number of elements, or nil when a dimension is negative or the product overflows.
    public var checkedElementCount: Int? {
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }

    /// Element count for shapes already validated at a boundary.
    public var elementCount: Int { dims.reduce(1, *) }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}

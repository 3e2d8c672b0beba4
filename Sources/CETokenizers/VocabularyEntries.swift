/// A vocabulary as the file lists it: each entry's UTF-8 bytes and id, in file order, the bytes of all
/// entries in one buffer. Reading a 30k-entry WordPiece vocabulary this way allocates three arrays rather
/// than a dictionary node and a byte array per entry; the WordPiece trie is built from it directly, in
/// file order (entries that share a prefix tend to be near each other there, so the trie's recent
/// edges are still in cache). A repeated token appears twice; a reader that keys the entries lets the
/// later one win, as serde reading into a HashMap does.
struct VocabularyEntries: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [Int] = []
    private(set) var ids: [Int32] = []

    init() {}

    init(reservingCapacity n: Int, bytes byteCount: Int = 0) {
        ends.reserveCapacity(n)
        ids.reserveCapacity(n)
        bytes.reserveCapacity(byteCount)
    }

    /// Entries with ids 0, 1, ... in list order.
    init(_ tokens: [String]) {
        for (i, t) in tokens.enumerated() { append(t, id: Int32(i)) }
    }

    var count: Int { ids.count }

    mutating func append(_ token: String, id: Int32) {
        var t = token
        t.withUTF8 { bytes.append(contentsOf: $0) }
        ends.append(bytes.count)
        ids.append(id)
    }

    mutating func append<C: Collection>(bytes token: C, id: Int32) where C.Element == UInt8 {
        bytes.append(contentsOf: token)
        ends.append(bytes.count)
        ids.append(id)
    }

    /// Calls `body` with each entry's bytes and id, in order.
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, Int32) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { all in
            var start = 0
            for (end, id) in zip(ends, ids) {
                try body(UnsafeBufferPointer(rebasing: all[start..<end]), id)
                start = end
            }
        }
    }

    /// token -> id, a later repeat of a token winning.
    func dictionary() -> [ByteString: Int32] {
        var out: [ByteString: Int32] = [:]
        out.reserveCapacity(count)
        forEach { out[ByteString(Array($0))] = $1 }
        return out
    }
}

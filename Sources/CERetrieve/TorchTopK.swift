/// torch.topk(x, k, largest=True, sorted=False) on CPU, reproduced element for element, tie order included.
/// aten's topk_impl_loop fills (value, index) pairs in index order and runs libstdc++'s std::partial_sort when
/// k * 64 <= n, else std::nth_element at k - 1; the comparator puts NaN first, then larger values. The ports below
/// follow libstdc++'s algorithms (introselect with median-of-three pivots and depth 2·⌊log2 n⌋, heap_select,
/// sort_heap, insertion sort below 4 elements), whose order for equal values is what torch returns.
enum TorchTopK {
    struct Element { var value: Float; var index: Int32 }

    /// The first k of `row` as torch.topk(sorted=False) returns them. `scratch` is reused (count n).
    static func select(_ row: UnsafeBufferPointer<Float>, k: Int, scratch: inout [Element]) -> ArraySlice<Element> {
        let n = row.count
        precondition(k >= 0 && k <= n)
        if scratch.count != n { scratch = [Element](repeating: Element(value: 0, index: 0), count: n) }
        for j in 0..<n { scratch[j] = Element(value: row[j], index: Int32(j)) }
        if k == 0 { return scratch[0..<0] }
        scratch.withUnsafeMutableBufferPointer { a in
            if k * 64 <= n {
                partialSort(a, 0, k, n)
            } else {
                introselect(a, 0, k - 1, n, depth: 2 * (Int.bitWidth - 1 - n.leadingZeroBitCount))
            }
        }
        return scratch[0..<k]
    }

    @inline(__always) static func comp(_ x: Element, _ y: Element) -> Bool {
        (x.value.isNaN && !y.value.isNaN) || x.value > y.value
    }

    typealias Buf = UnsafeMutableBufferPointer<Element>

    static func insertionSort(_ a: Buf, _ first: Int, _ last: Int) {
        guard first != last else { return }
        var i = first + 1
        while i < last {
            let v = a[i]
            if comp(v, a[first]) {
                var j = i
                while j > first { a[j] = a[j - 1]; j -= 1 }
                a[first] = v
            } else {
                var j = i, next = i - 1
                while comp(v, a[next]) { a[j] = a[next]; j = next; next -= 1 }
                a[j] = v
            }
            i += 1
        }
    }

    static func pushHeap(_ a: Buf, _ f: Int, _ hole0: Int, _ top: Int, _ v: Element) {
        var hole = hole0, parent = (hole - 1) / 2
        while hole > top && comp(a[f + parent], v) {
            a[f + hole] = a[f + parent]; hole = parent; parent = (hole - 1) / 2
        }
        a[f + hole] = v
    }

    static func adjustHeap(_ a: Buf, _ f: Int, _ hole0: Int, _ len: Int, _ v: Element) {
        let top = hole0
        var hole = hole0, child = hole0
        while child < (len - 1) / 2 {
            child = 2 * (child + 1)
            if comp(a[f + child], a[f + child - 1]) { child -= 1 }
            a[f + hole] = a[f + child]; hole = child
        }
        if len & 1 == 0 && child == (len - 2) / 2 {
            child = 2 * (child + 1)
            a[f + hole] = a[f + child - 1]; hole = child - 1
        }
        pushHeap(a, f, hole, top, v)
    }

    static func makeHeap(_ a: Buf, _ f: Int, _ l: Int) {
        let len = l - f
        guard len >= 2 else { return }
        var parent = (len - 2) / 2
        while true {
            adjustHeap(a, f, parent, len, a[f + parent])
            if parent == 0 { return }
            parent -= 1
        }
    }

    static func popHeap(_ a: Buf, _ f: Int, _ l: Int, _ result: Int) {
        let v = a[result]
        a[result] = a[f]
        adjustHeap(a, f, 0, l - f, v)
    }

    static func heapSelect(_ a: Buf, _ f: Int, _ m: Int, _ l: Int) {
        makeHeap(a, f, m)
        var i = m
        while i < l { if comp(a[i], a[f]) { popHeap(a, f, m, i) }; i += 1 }
    }

    static func partialSort(_ a: Buf, _ f: Int, _ m: Int, _ l: Int) {
        heapSelect(a, f, m, l)
        var last = m
        while last - f > 1 { last -= 1; popHeap(a, f, last, last) }
    }

    static func moveMedianToFirst(_ a: Buf, _ r: Int, _ x: Int, _ y: Int, _ z: Int) {
        if comp(a[x], a[y]) {
            if comp(a[y], a[z]) { a.swapAt(r, y) } else if comp(a[x], a[z]) { a.swapAt(r, z) } else { a.swapAt(r, x) }
        } else if comp(a[x], a[z]) { a.swapAt(r, x) } else if comp(a[y], a[z]) { a.swapAt(r, z) } else { a.swapAt(r, y) }
    }

    static func unguardedPartition(_ a: Buf, _ first0: Int, _ last0: Int, _ pivot: Int) -> Int {
        var first = first0, last = last0
        while true {
            while comp(a[first], a[pivot]) { first += 1 }
            last -= 1
            while comp(a[pivot], a[last]) { last -= 1 }
            if !(first < last) { return first }
            a.swapAt(first, last)
            first += 1
        }
    }

    static func introselect(_ a: Buf, _ first0: Int, _ nth: Int, _ last0: Int, depth depth0: Int) {
        var first = first0, last = last0, depth = depth0
        while last - first > 3 {
            if depth == 0 {
                heapSelect(a, first, nth + 1, last)
                a.swapAt(first, nth)
                return
            }
            depth -= 1
            let mid = first + (last - first) / 2
            moveMedianToFirst(a, first, first + 1, mid, last - 1)
            let cut = unguardedPartition(a, first + 1, last, first)
            if cut <= nth { first = cut } else { last = cut }
        }
        insertionSort(a, first, last)
    }
}

/// Python's heapq on (score, corpus_id) tuples, as util.semantic_search keeps each query's best top_k:
/// a min-heap under tuple order (score first, then corpus_id), heappush / heappushpop as CPython implements them.
struct ScoreHeap {
    struct Item { var score: Float; var id: Int }
    var items: [Item] = []

    /// Tuple `<`: the first unequal member decides (NaN compares unequal and not less).
    @inline(__always) static func less(_ a: Item, _ b: Item) -> Bool {
        a.score == b.score ? a.id < b.id : a.score < b.score
    }

    mutating func push(_ item: Item) {
        items.append(item)
        siftDown(0, items.count - 1)
    }

    mutating func pushPop(_ item: Item) {
        guard let top = items.first, ScoreHeap.less(top, item) else { return }
        items[0] = item
        siftUp(0)
    }

    private mutating func siftDown(_ start: Int, _ pos0: Int) {
        var pos = pos0
        let new = items[pos]
        while pos > start {
            let parent = (pos - 1) >> 1
            if ScoreHeap.less(new, items[parent]) { items[pos] = items[parent]; pos = parent; continue }
            break
        }
        items[pos] = new
    }

    private mutating func siftUp(_ pos0: Int) {
        let end = items.count, start = pos0
        var pos = pos0
        let new = items[pos]
        var child = 2 * pos + 1
        while child < end {
            let right = child + 1
            if right < end && !ScoreHeap.less(items[child], items[right]) { child = right }
            items[pos] = items[child]
            pos = child
            child = 2 * pos + 1
        }
        items[pos] = new
        siftDown(start, pos)
    }

    /// sorted(heap, key=score, reverse=True): descending score, equal scores in heap-array order (Python's sort is stable).
    func sortedDescending() -> [Item] {
        items.indices.sorted { i, j in
            let a = items[i].score, b = items[j].score
            return a == b ? i < j : a > b
        }.map { items[$0] }
    }
}

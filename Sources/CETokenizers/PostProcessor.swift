/// A post-processor template piece with its special token ids already resolved.
enum TemplatePiece: Equatable, Sendable {
    /// `$A` (first) or `$B` (second) with the type id its tokens get.
    case sequence(second: Bool, typeID: Int32)
    /// A special token (one or more ids) with its type id.
    case special(ids: [Int32], typeID: Int32)
}

/// tokenizers post-processors we implement. TemplateProcessing and BertProcessing are both reduced to
/// templates; `nil` post-processor in tokenizer.json is the default `$A:0 $B:1` concatenation.
struct PostProcessor: Equatable, Sendable {
    var single: [TemplatePiece]
    var pair: [TemplatePiece]

    /// No post-processor: tokenizers encodes the pair with type id 1 and concatenates.
    static let none = PostProcessor(single: [.sequence(second: false, typeID: 0)],
                                    pair: [.sequence(second: false, typeID: 0), .sequence(second: true, typeID: 1)])

    /// tokenizers BertProcessing: `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1`.
    static func bert(clsID: Int32, sepID: Int32) -> PostProcessor {
        PostProcessor(
            single: [.special(ids: [clsID], typeID: 0), .sequence(second: false, typeID: 0),
                     .special(ids: [sepID], typeID: 0)],
            pair: [.special(ids: [clsID], typeID: 0), .sequence(second: false, typeID: 0),
                   .special(ids: [sepID], typeID: 0), .sequence(second: true, typeID: 1),
                   .special(ids: [sepID], typeID: 1)])
    }

    /// tokenizers RobertaProcessing: `<s> $A </s>` / `<s> $A </s> </s> $B </s>`, every type id 0.
    static func roberta(clsID: Int32, sepID: Int32) -> PostProcessor {
        PostProcessor(
            single: [.special(ids: [clsID], typeID: 0), .sequence(second: false, typeID: 0), .special(ids: [sepID], typeID: 0)],
            pair: [.special(ids: [clsID], typeID: 0), .sequence(second: false, typeID: 0), .special(ids: [sepID], typeID: 0),
                   .special(ids: [sepID], typeID: 0), .sequence(second: true, typeID: 0), .special(ids: [sepID], typeID: 0)])
    }

    /// tokenizers `PostProcessor::added_tokens(is_pair)`.
    func addedTokens(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, piece in
            if case .special(let ids, _) = piece { return n + ids.count }
            return n
        }
    }

    /// Applies the template. `second == nil` selects the single template.
    func apply(first: [Int32], second: [Int32]?) -> Encoding {
        let template = second == nil ? single : pair
        var ids: [Int32] = []
        var types: [Int32] = []
        ids.reserveCapacity(first.count + (second?.count ?? 0) + 4)
        types.reserveCapacity(ids.capacity)
        for piece in template {
            switch piece {
            case let .sequence(isSecond, typeID):
                let seq = isSecond ? (second ?? []) : first
                ids.append(contentsOf: seq)
                types.append(contentsOf: repeatElement(typeID, count: seq.count))
            case let .special(specialIDs, typeID):
                ids.append(contentsOf: specialIDs)
                types.append(contentsOf: repeatElement(typeID, count: specialIDs.count))
            }
        }
        return Encoding(ids: ids, typeIDs: types, attentionMask: [Int32](repeating: 1, count: ids.count))
    }
}

/// tokenizers `utils::truncation` with strategy LongestFirst, stride 0.
enum Truncation {
    /// Lengths to keep for the first and second sequence so that together they fit `maxLength`
    /// (the budget left after the post-processor's special tokens). On a tie the second sequence
    /// gets the odd token; otherwise the longer one does.
    static func longestFirst(first n1In: Int, second n2In: Int?, maxLength: Int) -> (Int, Int?) {
        guard let n2In else {
            return (min(n1In, maxLength), nil)
        }
        if maxLength == 0 { return (0, 0) }
        if n1In + n2In <= maxLength { return (n1In, n2In) }
        var n1 = n1In
        var n2 = n2In
        let swap = n1 > n2
        if swap { (n1, n2) = (n2, n1) }
        if n1 > maxLength {
            n2 = n1
        } else {
            n2 = max(n1, maxLength - n1)
        }
        if n1 + n2 > maxLength {
            n1 = maxLength / 2
            n2 = n1 + maxLength % 2
        }
        if swap { (n1, n2) = (n2, n1) }
        return (n1, n2)
    }

    /// Keeps `count` ids from the right end (`fromLeft`) or the left end.
    static func keep(_ ids: [Int32], _ count: Int, fromLeft: Bool) -> [Int32] {
        if ids.count <= count { return ids }
        return fromLeft ? Array(ids[(ids.count - count)...]) : Array(ids[..<count])
    }
}

/// One encoded text or text pair, special tokens included, unpadded.
/// `ids`, `typeIDs` and `attentionMask` have the same length.
public struct Encoding: Equatable, Sendable {
    /// HF: input_ids.
    public var ids: [Int32]
    /// HF: token_type_ids (0 for the first segment, the template's type id for the second).
    public var typeIDs: [Int32]
    /// HF: attention_mask (all 1 for an unpadded encoding).
    public var attentionMask: [Int32]

    public init(ids: [Int32], typeIDs: [Int32], attentionMask: [Int32]) {
        self.ids = ids
        self.typeIDs = typeIDs
        self.attentionMask = attentionMask
    }
}

/// A batch of encodings, row-major [batchSize, sequenceLength], right-padded with the pad token id,
/// type id 0 and attention mask 0 (HF `padding=True`, padding_side "right").
public struct BatchEncoding: Sendable {
    public var batchSize: Int
    public var sequenceLength: Int
    /// [batchSize * sequenceLength]
    public var ids: [Int32]
    /// [batchSize * sequenceLength]
    public var typeIDs: [Int32]
    /// [batchSize * sequenceLength]
    public var attentionMask: [Int32]
    /// Unpadded length of each row, [batchSize].
    public var lengths: [Int]

    public init(batchSize: Int, sequenceLength: Int, ids: [Int32], typeIDs: [Int32],
                attentionMask: [Int32], lengths: [Int]) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.ids = ids
        self.typeIDs = typeIDs
        self.attentionMask = attentionMask
        self.lengths = lengths
    }

    /// Row `index` without its padding.
    public func row(_ index: Int) -> Encoding {
        let start = index * sequenceLength
        let end = start + lengths[index]
        return Encoding(ids: Array(ids[start..<end]), typeIDs: Array(typeIDs[start..<end]),
                        attentionMask: Array(attentionMask[start..<end]))
    }
}

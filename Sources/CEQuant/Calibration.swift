import CECore
import CEGraph

/// Calibration for int8 smoothing: the largest |input| per channel seen by each encoder linear.
public struct CalibrationStats: Sendable {
    /// Canonical weight name -> max |x[:, c]| over every calibration token.
    public private(set) var activationMax: [String: [Float]] = [:]
    public private(set) var tokens = 0

    public init() {}

    /// Folds one linear input [rows, cols] into the running maxima.
    public mutating func observe(_ name: String, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        var m = activationMax[name] ?? [Float](repeating: 0, count: cols)
        for r in 0..<rows {
            let p = x + r * cols
            for c in 0..<cols { let v = abs(p[c]); if v > m[c] { m[c] = v } }
        }
        activationMax[name] = m
        // Block 0's first linear sees every calibration token once (attn_q, or ModernBERT's fused attn_qkv).
        if name == TensorName.attnQ(0).weight || name == TensorName.attnQKV(0).weight { tokens += rows }
    }
}

/// Text pairs used to calibrate when the user gives none: 384 query–passage pairs of real text
/// (`corpusJSONLines`, made by golden/make_calibration.py from text no golden file uses) and a few
/// short everyday pairs written for this purpose. Smoothing needs each channel's range; error-compensating
/// rounding needs each linear's input second moments, which a few dozen pairs estimate badly (the widest
/// input has 1,536 channels), hence tens of thousands of tokens.
public enum Calibration {
    public static let defaultPairs: [(String, String)] = corpusPairs + handWrittenPairs

    /// The built-in corpus, parsed once.
    static let corpusPairs: [(String, String)] = corpusJSONLines.split(separator: "\n").map { line in
        guard let a = try? JSONParser.parse(String(line)).arrayValue, a.count == 2, let q = a[0].stringValue, let d = a[1].stringValue else {
            preconditionFailure("CalibrationCorpus.swift holds a line that is not [query, passage]")
        }
        return (q, d)
    }

    static let handWrittenPairs: [(String, String)] = {
        let queries = [
            "how many people live in berlin",
            "What is the boiling point of water at high altitude?",
            "symptoms of vitamin D deficiency",
            "Who wrote the novel about a whale and a captain?",
            "best way to store fresh herbs",
            "Why does the moon look larger near the horizon?",
            "train schedule from the airport to the city centre on sundays",
            "how do vaccines train the immune system",
        ]
        let passages = [
            "Berlin is the capital and largest city of Germany, with about 3.7 million inhabitants within its city limits.",
            "Water boils at a lower temperature at high altitude because the air pressure is lower; at 3,000 metres it boils near 90 °C.",
            "A lack of vitamin D can cause tiredness, bone pain and muscle weakness, and in children it may lead to rickets.",
            "The novel follows a sailor who joins a whaling ship whose captain is obsessed with hunting one white whale.",
            "Most soft herbs keep best upright in a glass of water in the fridge, loosely covered, while woody herbs prefer a damp towel.",
            "The moon illusion is not caused by the atmosphere: photographs show the same size, so the effect happens in the brain.",
            "On Sundays the first train leaves the airport station at 5:12 and then every twenty minutes until midnight; tickets cost €3.80.",
            "Vaccines expose the immune system to a harmless piece or copy of a pathogen, so that memory cells respond faster to a real infection.",
            "The quarterly report shows revenue up 12% year over year, driven by subscriptions, while hardware sales declined slightly.",
            "Photosynthesis converts light energy into chemical energy: carbon dioxide and water become glucose and oxygen in the chloroplasts.",
            "To reset the router, hold the button on the back for ten seconds until the lights blink, then wait two minutes before reconnecting.",
            "The match ended 2–1 after a late header in stoppage time; the visitors had led since the 34th minute.",
        ]
        var out: [(String, String)] = []
        for (i, q) in queries.enumerated() {
            for j in 0..<4 { out.append((q, passages[(i * 3 + j * 5) % passages.count])) }
        }
        // A long passage near the usual length limit, built from all of them.
        out.append((queries[0], passages.joined(separator: " ") + " " + passages.reversed().joined(separator: " ")))
        return out
    }()
}

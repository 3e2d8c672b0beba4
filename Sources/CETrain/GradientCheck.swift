import CEGraph

/// The whole model's backward against Float64 central finite differences: s = Σ r ⊙ logits for a seeded r, ∂s/∂θ
/// for `perTensor` entries of every parameter (its largest-gradient entries and seeded others), dropout masks
/// replayed from the same seed in every pass.
public enum GradientCheck {
    public struct Result: Sendable {
        /// The largest |analytic − finite difference| / max(1, |finite difference|).
        public var worstRelativeError: Double
        public var worstParameter: String
        public var checkedEntries: Int
        /// Parameters whose sampled gradient entries are all zero (a backward that never reaches them would show here).
        public var zeroParameters: [String]
    }

    public static func run(graph: Graph, sequences: [TrainSequence], dropout: DropoutRates = .none, perTensor: Int = 3,
                           step: Double = 1e-5, seed: UInt64 = 1) throws -> Result {
        let model = try TrainModel<Double>(graph: graph, dropout: dropout)
        var weights = SeededGenerator(seed: seed)
        let l = graph.hyperparameters.numLabels
        let r = (0..<(sequences.count * l)).map { _ in weights.uniform() * 2 - 1 }
        func s() throws -> Double {
            var rng: SeededGenerator? = dropout == .none ? nil : SeededGenerator(seed: seed &+ 17)
            let logits = try model.forward(sequences, rng: &rng).logits
            return zip(r, logits).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var rng: SeededGenerator? = dropout == .none ? nil : SeededGenerator(seed: seed &+ 17)
        let pass = try model.forward(sequences, rng: &rng)
        let grads = model.backward(pass, dlogits: r)
        var result = Result(worstRelativeError: 0, worstParameter: "", checkedEntries: 0, zeroParameters: [])
        for t in 0..<grads.values.count {
            let g = grads.values[t]
            let largest = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(perTensor)
            let others = (0..<perTensor).map { _ in Int(weights.next() % UInt64(g.count)) }
            if largest.allSatisfy({ g[$0] == 0 }) { result.zeroParameters.append(grads.names[t]) }
            for i in Set(largest).union(others) {
                let v = model.parameters.values[t][i]
                model.parameters.values[t][i] = v + step
                let plus = try s()
                model.parameters.values[t][i] = v - step
                let minus = try s()
                model.parameters.values[t][i] = v
                let fd = (plus - minus) / (2 * step), err = abs(fd - g[i]) / max(1, abs(fd))
                if err > result.worstRelativeError { result.worstRelativeError = err; result.worstParameter = "\(grads.names[t])[\(i)]" }
                result.checkedEntries += 1
            }
        }
        return result
    }
}

import Foundation

/// The training losses of sentence-transformers' CrossEncoder, each the mean over the batch, with the gradient
/// of that mean with respect to the logits (B, L).
public enum Loss: Sendable, Equatable {
    /// torch.nn.BCEWithLogitsLoss(pos_weight=): one label, targets in [0, 1]. sentence-transformers' default for one label.
    case binaryCrossEntropy(posWeight: Double?)
    /// torch.nn.CrossEntropyLoss: several labels, integer class targets. The default for several labels.
    case crossEntropy
    /// torch.nn.MSELoss on the logits: one label, any real target.
    case meanSquaredError

    /// sentence-transformers' default: BCE for one label, cross-entropy for several.
    public static func `default`(numLabels: Int) -> Loss { numLabels == 1 ? .binaryCrossEntropy(posWeight: nil) : .crossEntropy }

    /// Checks one label against the loss: BCE needs [0, 1], cross-entropy an integer class in 0..<numLabels, MSE a
    /// finite number. `index` names the example.
    public func validate(label: Double, index: Int, numLabels: Int) throws {
        guard label.isFinite else { throw TrainError.invalidLabel(index: index, reason: "label \(label) is not a finite number") }
        switch self {
        case .binaryCrossEntropy:
            guard numLabels == 1 else { throw TrainError.invalidOption(name: "--loss bce", reason: "needs a one-label model; this one has \(numLabels)") }
            guard (0...1).contains(label) else { throw TrainError.invalidLabel(index: index, reason: "label \(label) is outside [0, 1], which binary cross-entropy needs") }
        case .meanSquaredError:
            guard numLabels == 1 else { throw TrainError.invalidOption(name: "--loss mse", reason: "needs a one-label model; this one has \(numLabels)") }
        case .crossEntropy:
            guard numLabels >= 2 else { throw TrainError.invalidOption(name: "--loss ce", reason: "needs a model with several labels; this one has 1") }
            guard label == label.rounded(), label >= 0, label < Double(numLabels) else {
                throw TrainError.invalidLabel(index: index, reason: "label \(label) is not a class id in 0..<\(numLabels)")
            }
        }
    }

    /// logits (B, L), labels (B) -> (mean loss, dloss/dlogits (B, L)), in Double.
    public func evaluate<T: TrainScalar>(_ logits: [T], labels: [Double], numLabels l: Int) -> (loss: Double, grad: [T]) {
        let b = labels.count
        var loss = 0.0, grad = [T](repeating: 0, count: logits.count)
        switch self {
        case .binaryCrossEntropy(let posWeight):
            let pw = posWeight ?? 1
            for i in 0..<b {
                let x = Double(logits[i]), y = labels[i]
                // −[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))], log σ(x) = −softplus(−x)
                let logSig = -softplus(-x), logOneMinus = -softplus(x)
                loss += -(pw * y * logSig + (1 - y) * logOneMinus)
                let s = 1 / (1 + exp(-x))
                grad[i] = T((pw * y * (s - 1) + (1 - y) * s) / Double(b))
            }
        case .meanSquaredError:
            for i in 0..<b {
                let d = Double(logits[i]) - labels[i]
                loss += d * d
                grad[i] = T(2 * d / Double(b))
            }
        case .crossEntropy:
            for i in 0..<b {
                let row = (0..<l).map { Double(logits[i * l + $0]) }, m = row.max()!
                let z = row.map { exp($0 - m) }.reduce(0, +), y = Int(labels[i])
                loss += -(row[y] - m - log(z))
                for j in 0..<l { grad[i * l + j] = T((exp(row[j] - m) / z - (j == y ? 1 : 0)) / Double(b)) }
            }
        }
        return (loss / Double(b), grad)
    }
}

/// log(1 + eˣ) without overflow.
func softplus(_ x: Double) -> Double { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }

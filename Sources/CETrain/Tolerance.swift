/// Named tolerances of training checks (issue 28's bars). Tests use these, never literals.
public enum TrainTolerance {
    /// Whole-model gradients vs PyTorch autograd, fp32 both: a parameter's gradient norm within this relative error,
    /// and each sampled entry within this times the parameter's largest |gradient|.
    public static let gradientRelative = 1e-4
    /// A gradient that is zero in exact arithmetic (attention key biases: softmax is shift-invariant) is rounding noise
    /// in both implementations; its norm must stay below this times the model's largest parameter-gradient norm.
    public static let zeroGradientBound = 1e-6
    /// A deterministic fit's held-out logits vs PyTorch's: |Δ| ≤ this · max(|reference|, RMS of the reference logits).
    public static let fitLogitRelative = 1e-3
    /// Float64 analytic backward vs Float64 central finite differences (step `finiteDifferenceStep`), relative to
    /// max(1, |finite difference|).
    public static let finiteDifference = 1e-6
    public static let finiteDifferenceStep = 1e-5
}

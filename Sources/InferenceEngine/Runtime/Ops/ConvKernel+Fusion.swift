/// Constructors for the optimizer's Conv fusions.
///
/// The optimizer rewrites a compiled Conv node (``Operation/kernel(_:)`` holding a
/// ``ConvKernel``) into a fused copy:
///
/// - Conv → activation: `kernel.fused(activation: a)`; the node takes the activation's output.
/// - Conv → Add(residual) [→ activation]: `kernel.fused(activation: a, residual: true,
///   residualBeforeActivation: true)` and the node's inputs become `[X, W, B or -1, residual]`
///   (the residual is input #3; slot -1 marks an omitted B).
/// - Conv → BatchNormalization (inference mode, constant parameters):
///   `kernel.foldingBatchNorm(...)`, which bakes the scale and shift into the kernel's own
///   constant weights and bias. The folded kernel reads neither input #1 nor #2, so the
///   optimizer should set those to -1 to let the original initializers be released. Fold BN
///   before fusing an activation or residual (the function refuses a kernel that has one).
extension ConvKernel {
    /// A copy with the given epilogue. The residual, when `residual` is `true`, must be the
    /// node's input #3 with the output's shape.
    func fused(activation: EpilogueActivation, residual: Bool = false, residualBeforeActivation: Bool = false) -> ConvKernel {
        var copy = self
        copy.activation = activation
        copy.residual = residual
        copy.residualBeforeActivation = residualBeforeActivation
        return copy
    }

    /// This convolution followed by `BatchNormalization(scale, bias, mean, variance, epsilon)`,
    /// as one convolution: `W'[oc] = W[oc]·s[oc]`, `B'[oc] = (B[oc] - mean[oc])·s[oc] + bias[oc]`
    /// with `s = scale / √(variance + epsilon)`.
    ///
    /// - Returns: nil when the weights were not constants at load (``weights`` is nil), when the
    ///   kernel already has an epilogue (BN would have to come after it), or when the parameter
    ///   lengths are not one per output channel.
    func foldingBatchNorm(scale: [Float], bias: [Float], mean: [Float], variance: [Float], epsilon: Float) -> ConvKernel? {
        guard let weights, activation == .none, !residual, let channels = weights.shape.first, channels > 0 else { return nil }
        guard [scale.count, bias.count, mean.count, variance.count].allSatisfy({ $0 == channels }),
              weights.values.count % channels == 0 else { return nil }
        let perChannel = weights.values.count / channels
        var values = weights.values
        var shift = [Float](repeating: 0, count: channels)
        for oc in 0..<channels {
            // Double keeps the folded constants as close as possible to the two-step result.
            let s = Double(scale[oc]) / (Double(variance[oc]) + Double(epsilon)).squareRoot()
            for i in (oc * perChannel)..<((oc + 1) * perChannel) { values[i] = Float(Double(values[i]) * s) }
            let b = Double(weights.bias?[oc] ?? 0)
            shift[oc] = Float((b - Double(mean[oc])) * s + Double(bias[oc]))
        }
        var copy = self
        copy.weights = Weights(values: values, shape: weights.shape, bias: shift)
        return copy
    }
}

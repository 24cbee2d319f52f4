/// Runs one model over and over from one thread, reusing its output tensors: once the input
/// shapes' execution plan exists (after the first run with those shapes), a run allocates
/// nothing at all, which keeps tail latency free of allocator and page-fault noise.
///
/// ```swift
/// let session = InferenceSession(model: model)
/// var inputs = [Tensor(shape: [1, 32], scalars: initialFeatures)]   // kept across runs
/// while let row = nextRow() {
///     inputs[0].withUnsafeMutableBytes { row.copyBytes(to: $0) }   // refill in place
///     let scores = try session.run(inputs)[0]                       // read before the next run
/// }
/// ```
///
/// The returned tensors are the session's own buffers and are overwritten by the next run
/// unless the caller still holds them then, in which case the caller keeps its values and the
/// session allocates new buffers (copy on write): correct either way, allocation-free when
/// results are consumed before the next run. Not thread-safe: use one session per thread
/// (sessions of one model share its weights and plans).
public final class InferenceSession {
    public let model: Model
    private var outputs: [Tensor] = []

    public init(model: Model) {
        self.model = model
    }

    /// Runs the model on inputs in ``Model/inputs`` order and returns the outputs in
    /// ``Model/outputs`` order. Throws as ``Model/run(_:)-(([Tensor]))`` does.
    @discardableResult
    public func run(_ inputs: [Tensor]) throws(InferenceError) -> [Tensor] {
        try model.run(inputs, into: &outputs)
        return outputs
    }
}

/// How load is offered.
public enum LoadMode: Sendable, Equatable, CustomStringConvertible {
    /// Requests at a fixed rate (per second, across all threads) on a precomputed schedule,
    /// whatever the server does: latency is measured from each request's intended send instant.
    case openLoop(rate: Double)
    /// `concurrency` requests in flight; each slot sends its next request when the previous
    /// one returns.
    case closedLoop(concurrency: Int)

    public var description: String {
        switch self {
        case .openLoop(let rate): "open loop at \(formatRate(rate)) req/s"
        case .closedLoop(let concurrency): "closed loop, concurrency \(concurrency)"
        }
    }

    /// The target rate (open loop) or nil.
    public var targetRate: Double? {
        if case .openLoop(let rate) = self { return rate }
        return nil
    }

    /// The concurrency (closed loop) or nil.
    public var concurrency: Int? {
        if case .closedLoop(let concurrency) = self { return concurrency }
        return nil
    }
}

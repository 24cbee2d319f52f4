/// What each request asks for and how the load is spread.
public struct RunSettings: Sendable {
    public var model: String
    public var version: UInt64
    /// Outputs to request; empty asks for all.
    public var outputs: [String]
    public var mode: LoadMode
    /// Open loop: pacing threads; the rate and the connections are split among them.
    /// Closed loop: ignored (each concurrency slot is its own thread).
    public var threads: Int
    /// Open loop: calls allowed in flight per connection before the next send waits (and is
    /// counted late if it waits past the threshold). The default stays under the server's
    /// 256 streams; 1 reproduces wrk2, where a slow response delays the next send.
    public var maxInFlightPerConnection: Int
    /// Per-call deadline; calls that pass it count as timed out.
    public var timeout: Duration
    /// A send more than this after its intended instant counts as late.
    public var lateThresholdNanoseconds: UInt64
    /// Stop after this many requests intended after the warm-up (nil: run until stopped).
    public var requestLimit: Int?
    /// Open loop: how long before each intended instant the pacer stops sleeping and spins.
    /// More spin, more precise sends and more CPU (at most this much per send); 0 trusts the
    /// kernel's wake-up (some 5-60 us late on virtual machines).
    public var spinMarginNanoseconds: UInt64 = Clock.spinMargin

    public init(
        model: String, version: UInt64 = 0, outputs: [String] = [], mode: LoadMode,
        threads: Int = 1, maxInFlightPerConnection: Int = 200, timeout: Duration = .seconds(10),
        lateThresholdNanoseconds: UInt64 = 1_000_000, requestLimit: Int? = nil
    ) {
        self.model = model
        self.version = version
        self.outputs = outputs
        self.mode = mode
        self.threads = threads
        self.maxInFlightPerConnection = maxInFlightPerConnection
        self.timeout = timeout
        self.lateThresholdNanoseconds = lateThresholdNanoseconds
        self.requestLimit = requestLimit
    }
}

/// Protocol versions this build speaks, and the negotiation rule.
public enum ProtocolVersion {
    public static let current: UInt16 = 1
    public static let supported: ClosedRange<UInt16> = 1...1

    /// The highest version in both `supported` and `min...max`, or nil when there is none
    /// (the server then answers GOAWAY with FAILED_PRECONDITION). Also nil if `min > max`.
    public static func negotiate(
        clientMin: UInt16, clientMax: UInt16, supported: ClosedRange<UInt16> = supported
    ) -> UInt16? {
        guard clientMin <= clientMax else { return nil }
        let high = Swift.min(clientMax, supported.upperBound)
        let low = Swift.max(clientMin, supported.lowerBound)
        return low <= high ? high : nil
    }
}

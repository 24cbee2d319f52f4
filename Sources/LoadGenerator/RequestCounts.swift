import TensorWireProtocol

/// Counts of requests by outcome. Every request sent ends in exactly one of `ok`, `failed`
/// (an error status other than DEADLINE_EXCEEDED) or `timedOut`, so after a run has drained,
/// `sent == ok + failed + timedOut`.
public struct RequestCounts: Sendable, Equatable, Codable {
    public var sent: UInt64 = 0
    public var ok: UInt64 = 0
    public var failed: UInt64 = 0
    public var timedOut: UInt64 = 0
    /// Requests sent more than the late threshold after their intended instant (open loop).
    public var late: UInt64 = 0
    /// Errors by raw status code; index 17 collects codes this build does not know.
    public var byStatus: [UInt64] = Array(repeating: 0, count: RequestCounts.statusSlots)

    static let statusSlots = 18

    public init() {}

    /// Requests answered, successfully or not.
    public var completed: UInt64 { ok + failed + timedOut }
    /// Requests that did not succeed.
    public var errors: UInt64 { failed + timedOut }
    /// Whether every request sent has an outcome.
    public var isBalanced: Bool { sent == completed }

    @inline(__always)
    mutating func recordError(_ code: StatusCode) {
        if code == .deadlineExceeded { timedOut += 1 } else { failed += 1 }
        byStatus[min(Int(code.rawValue), Self.statusSlots - 1)] += 1
    }

    /// Non-zero error counts by status name, e.g. `["UNAVAILABLE": 3]`.
    public var errorsByStatusName: [String: UInt64] {
        var result: [String: UInt64] = [:]
        for (index, count) in byStatus.enumerated() where count > 0 {
            let name = index == Self.statusSlots - 1 ? "OTHER" : StatusCode(rawValue: UInt16(index)).name
            result[name] = count
        }
        return result
    }

    public static func += (lhs: inout RequestCounts, rhs: RequestCounts) {
        lhs.sent += rhs.sent
        lhs.ok += rhs.ok
        lhs.failed += rhs.failed
        lhs.timedOut += rhs.timedOut
        lhs.late += rhs.late
        for index in 0..<statusSlots { lhs.byStatus[index] += rhs.byStatus[index] }
    }
}

/// A gRPC-canonical status code as carried on the wire (u16).
///
/// A struct over the raw value rather than an enum so that codes this build does not know
/// survive a decode/encode round trip unchanged: an unknown number compares unequal to every
/// named code, reports itself as `UNKNOWN(n)`, and ``canonical`` maps it to ``unknown``.
public struct StatusCode: Hashable, Sendable, CustomStringConvertible {
    /// The number on the wire.
    public let rawValue: UInt16

    /// Wraps any raw value; unknown numbers are kept, not rejected.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ok = StatusCode(rawValue: 0)
    public static let cancelled = StatusCode(rawValue: 1)
    public static let unknown = StatusCode(rawValue: 2)
    public static let invalidArgument = StatusCode(rawValue: 3)
    public static let deadlineExceeded = StatusCode(rawValue: 4)
    public static let notFound = StatusCode(rawValue: 5)
    public static let alreadyExists = StatusCode(rawValue: 6)
    public static let permissionDenied = StatusCode(rawValue: 7)
    public static let resourceExhausted = StatusCode(rawValue: 8)
    public static let failedPrecondition = StatusCode(rawValue: 9)
    public static let aborted = StatusCode(rawValue: 10)
    public static let outOfRange = StatusCode(rawValue: 11)
    public static let unimplemented = StatusCode(rawValue: 12)
    public static let internalError = StatusCode(rawValue: 13)
    public static let unavailable = StatusCode(rawValue: 14)
    public static let dataLoss = StatusCode(rawValue: 15)
    public static let unauthenticated = StatusCode(rawValue: 16)

    private static let names: [String] = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    ]

    /// Whether this is one of the 17 canonical codes.
    public var isKnown: Bool { Int(rawValue) < Self.names.count }

    /// This code if known, otherwise ``unknown``: what application logic should branch on.
    public var canonical: StatusCode { isKnown ? self : .unknown }

    /// The canonical upper-case name ("INVALID_ARGUMENT"); `UNKNOWN(n)` for unknown numbers.
    public var name: String { isKnown ? Self.names[Int(rawValue)] : "UNKNOWN(\(rawValue))" }

    /// Looks a code up by its canonical name.
    public init?(name: String) {
        guard let index = Self.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: UInt16(index))
    }

    public var description: String { name }
}

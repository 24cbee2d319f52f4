import COpenSSL
import Glibc

/// A TLS or socket failure, with OpenSSL's error queue appended so that the cause
/// (bad file, verification failure, alert received) is visible without a debugger.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    /// Human-readable description, including the OpenSSL error queue text when there was any.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// Builds an error from `context` and drains OpenSSL's (thread-local) error queue into it.
    static func openSSL(_ context: String) -> TLSError {
        let queue = drainOpenSSLErrors()
        return TLSError(queue.isEmpty ? context : "\(context): \(queue)")
    }

    static func errno(_ context: String, _ code: Int32) -> TLSError {
        TLSError("\(context): \(String(cString: strerror(code)))")
    }
}

/// Reads and clears the calling thread's OpenSSL error queue.
func drainOpenSSLErrors() -> String {
    var parts: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        ERR_error_string_n(code, &buffer, buffer.count)
        parts.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return parts.joined(separator: "; ")
}

#if canImport(Glibc)
import Glibc
#endif

/// Minimal structured logging to standard error; the server logs events, never per request.
enum ServerLog {
    static func info(_ message: @autoclosure () -> String) { write("info", message()) }
    static func warning(_ message: @autoclosure () -> String) { write("warn", message()) }
    static func error(_ message: @autoclosure () -> String) { write("error", message()) }

    private static func write(_ level: String, _ message: String) {
        var line = "tensorwire-server [\(level)] \(message)\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

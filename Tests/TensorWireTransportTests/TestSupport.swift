import Foundation
import Synchronization
import Testing
@testable import TensorWireTransport

/// Two independent dev PKIs made by certs/make-dev-certs.sh: `main` and `other` (the wrong CA).
struct DevCerts: Sendable {
    let dir: String
    var ca: String { dir + "/ca.pem" }
    var serverCert: String { dir + "/server.pem" }
    var serverKey: String { dir + "/server-key.pem" }
    var clientCert: String { dir + "/client.pem" }
    var clientKey: String { dir + "/client-key.pem" }

    static let root: String = {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("tensorwire-transport-tests-\(getpid())").path
        try? FileManager.default.removeItem(atPath: path)
        return path
    }()
    static let main = make("main")
    static let other = make("other")

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("certs/make-dev-certs.sh").path
    }

    static func runScript(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [scriptPath] + arguments
        process.standardOutput = FileHandle.nullDevice
        try! process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    private static func make(_ name: String) -> DevCerts {
        let dir = root + "/" + name
        precondition(runScript([dir]) == 0, "make-dev-certs.sh failed")
        return DevCerts(dir: dir)
    }
}

func serverContext(_ certs: DevCerts = .main, trust: DevCerts? = nil, clientAuth: ClientAuthentication = .none,
                   minimum: TLSVersion = .tls13) throws -> TLSContext {
    try TLSContext(configuration: .server(
        certificateChainFile: certs.serverCert, privateKeyFile: certs.serverKey,
        trustRootsFile: trust?.ca, clientAuthentication: clientAuth, minimumVersion: minimum))
}

func clientContext(trust: DevCerts = .main, identity: DevCerts? = nil, minimum: TLSVersion = .tls13,
                   maximum: TLSVersion = .tls13) throws -> TLSContext {
    var configuration = TLSConfiguration.client(
        trustRootsFile: trust.ca, certificateChainFile: identity?.clientCert,
        privateKeyFile: identity?.clientKey, minimumVersion: minimum)
    configuration.maximumVersion = maximum
    return try TLSContext(configuration: configuration)
}

/// Counts lifecycle events across all connections of a test server. The lists use the
/// transport's pthread-based `Locked`: ThreadSanitizer on Linux does not see
/// `Synchronization.Mutex` and reported its correctly locked appends as races.
final class ServerEvents: Sendable {
    let active = Atomic<Int>(0)
    let closed = Atomic<Int>(0)
    let subjects = Locked<[String?]>([])
    let identities = Locked<[PeerCertificateIdentity?]>([])
    let connections = Locked<[TLSConnection]>([])
}

/// Echoes every byte back; records lifecycle events.
final class EchoHandler: ConnectionHandler {
    let events: ServerEvents
    init(events: ServerEvents) { self.events = events }

    func connectionDidBecomeActive(_ connection: TLSConnection) {
        events.active.add(1, ordering: .relaxed)
        events.subjects.withLock { $0.append(connection.peerCertificateSubject) }
        events.identities.withLock { $0.append(connection.peerCertificateIdentity) }
        events.connections.withLock { $0.append(connection) }
    }
    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
        connection.write(bytes)
    }
    func connectionDidClose(_ connection: TLSConnection) {
        events.closed.add(1, ordering: .relaxed)
    }
}

struct TestServer {
    let server: TLSServer
    let port: Int
    let events: ServerEvents

    init(tls: TLSContext, configure: (inout TLSServerConfiguration) -> Void = { _ in }) throws {
        var configuration = TLSServerConfiguration()
        configure(&configuration)
        let events = ServerEvents()
        self.events = events
        server = TLSServer(configuration: configuration, tls: tls) { _ in EchoHandler(events: events) }
        port = try server.start()
    }
}

func connect(_ port: Int, _ context: TLSContext, serverName: String? = "localhost") throws -> TLSClientSocket {
    try TLSClientSocket.connect(host: "127.0.0.1", port: port, context: context, serverName: serverName, timeout: .seconds(5))
}

extension TLSClientSocket {
    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in try writeAll(buffer, timeout: .seconds(5)) }
    }

    /// Reads exactly `count` bytes, or fewer if the connection closes first.
    func receive(_ count: Int, timeout: Duration = .seconds(5)) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = ContinuousClock.now + timeout
        while result.count < count {
            let outcome = try chunk.withUnsafeMutableBytes { buffer in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, count - result.count)]))
            }
            switch outcome {
            case .bytes(let n): result += chunk[0..<n]
            case .closed: return result
            case .wouldBlock:
                if hasBufferedData { continue }
                if ContinuousClock.now >= deadline { throw TLSError("receive timed out") }
                _ = waitUntilReadable(timeout: .milliseconds(200))
            }
        }
        return result
    }

    /// Waits until the peer closes; true if it did within `timeout`.
    func awaitClose(timeout: Duration = .seconds(5)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            let outcome = try? chunk.withUnsafeMutableBytes { buffer in try read(into: buffer) }
            switch outcome {
            case .closed?, nil: return true
            case .bytes?: continue
            case .wouldBlock?: _ = waitUntilReadable(timeout: .milliseconds(100))
            }
        }
        return false
    }
}

/// Polls `condition` until true or timeout.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// Plain TCP socket to the loopback port, for the "not TLS at all" cases.
func plainTCPConnect(_ port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(rc == 0, "plain connect failed")
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

/// Reads from a plain socket until EOF/error; true if the server closed it (not a timeout).
func plainReadUntilClosed(_ fd: Int32) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n > 0 { continue }
        if n == 0 { return true }
        return errno == ECONNRESET
    }
}

func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31) &+ seed &+ ($0 >> 8)) }
}

import TensorWireProtocol
import TensorWireTransport

/// The server side of a client test, written by hand: it completes the protocol handshake and
/// hands every later frame to `onFrame`, which may append frames to the writer (sent when the
/// read is handled) or act on the connection itself.
final class ScriptedSession: ConnectionHandler, @unchecked Sendable {
    typealias OnFrame = (_ header: FrameHeader, _ writer: inout ByteWriter, _ connection: TLSConnection) -> Void

    private var decoder = FrameDecoder(expectsPreface: true)
    private let onFrame: OnFrame

    init(onFrame: @escaping OnFrame) { self.onFrame = onFrame }

    func connectionDidBecomeActive(_ connection: TLSConnection) {}
    func connectionDidClose(_ connection: TLSConnection) {}

    func connection(_ connection: TLSConnection, didRead bytes: UnsafeRawBufferPointer) {
        decoder.append(bytes)
        var writer = ByteWriter()
        while let frame = try? decoder.next() {
            if frame.header.type == .hello {
                writer.writeHelloAck(HelloAck(serverName: "scripted"))
            } else {
                onFrame(frame.header, &writer, connection)
            }
        }
        writer.withUnsafeReadableBytes { if $0.count > 0 { connection.write($0) } }
    }
}

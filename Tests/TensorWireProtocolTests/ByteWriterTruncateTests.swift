import Testing
@testable import TensorWireProtocol

@Suite struct ByteWriterTruncateTests {
    /// A frame taken back with truncate leaves the writer exactly as before it was written.
    @Test func truncateTakesBackAFrame() throws {
        var writer = ByteWriter()
        writer.writeHelloAck(HelloAck())
        writer.writePing(7)
        let before = writer.withUnsafeReadableBytes { Array($0) }
        writer.writeResponse(streamID: 1, head: ResponseHead(status: .ok)) { w, _ in w.writeZeros(1000) }
        writer.truncate(to: before.count)
        #expect(writer.withUnsafeReadableBytes { Array($0) } == before)
        writer.writePong(7)
        var decoder = FrameDecoder(expectsPreface: false)
        writer.withUnsafeReadableBytes { decoder.append($0) }
        #expect(try decoder.next()?.header.type == .helloAck)
        #expect(try decoder.next()?.header.type == .ping)
        #expect(try decoder.next()?.header.type == .pong)
        #expect(try decoder.next() == nil)
    }
}

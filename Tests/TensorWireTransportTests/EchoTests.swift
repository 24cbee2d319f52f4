import Dispatch
import Synchronization
import Testing
@testable import TensorWireTransport

@Suite struct EchoTests {
    @Test func smallRoundTripOverTLS13() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext())
        defer { client.close() }
        #expect(client.negotiatedProtocolVersion == "TLSv1.3")
        let message = Array("hello, tensorwire".utf8)
        try client.send(message)
        #expect(try client.receive(message.count) == message)
        #expect(eventually { server.events.connections.withLock { $0.first?.negotiatedProtocolVersion } == "TLSv1.3" })
    }

    @Test func oneMebibytePayload() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext())
        defer { client.close() }
        let payload = pattern(1 << 20)
        try client.send(payload)
        let echoed = try client.receive(payload.count, timeout: .seconds(10))
        #expect(echoed.count == payload.count)
        #expect(echoed == payload)
    }

    @Test func manySmallWrites() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext())
        defer { client.close() }
        var expected: [UInt8] = []
        for i in 0..<2000 {
            let piece = Array("msg-\(i);".utf8)
            expected += piece
            try client.send(piece)
        }
        #expect(try client.receive(expected.count) == expected)
    }

    @Test func fiftyConcurrentClients() throws {
        let server = try TestServer(tls: serverContext()) { $0.eventLoopCount = 2 }
        defer { server.server.stop() }
        let context = try clientContext()
        let clients = try (0..<50).map { _ in try connect(server.port, context) }
        defer { clients.forEach { $0.close() } }
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: clients.count) { index in
            let payload = pattern(10_000 + index * 7, seed: index)
            do {
                for round in 0..<3 {
                    let piece = Array(payload[(round * payload.count / 3)..<((round + 1) * payload.count / 3)])
                    try clients[index].send(piece)
                    if try clients[index].receive(piece.count) != piece { failures.add(1, ordering: .relaxed) }
                }
            } catch {
                failures.add(1, ordering: .relaxed)
            }
        }
        let failed = failures.load(ordering: .relaxed)
        let active = server.events.active.load(ordering: .relaxed)
        #expect(failed == 0)
        #expect(active == 50)
    }

    @Test func executeFromAnotherThreadDelivers() throws {
        let server = try TestServer(tls: serverContext())
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext())
        defer { client.close() }
        try client.send(Array("x".utf8))
        _ = try client.receive(1)
        let connection = try #require(server.events.connections.withLock { $0.first })
        #expect(!connection.eventLoop.inEventLoop)
        let ranOnLoop = Atomic<Bool>(false)
        connection.eventLoop.execute {
            ranOnLoop.store(connection.eventLoop.inEventLoop, ordering: .relaxed)
            Array("pushed".utf8).withUnsafeBytes { connection.write($0) }
        }
        #expect(try client.receive(6) == Array("pushed".utf8))
        let ran = ranOnLoop.load(ordering: .relaxed)
        #expect(ran)
    }

    @Test func busyPollingLoopEchoesAndRunsTasks() throws {
        let server = try TestServer(tls: serverContext()) { $0.busyPoll = true }
        defer { server.server.stop() }
        let client = try connect(server.port, clientContext())
        defer { client.close() }
        for i in 0..<200 {
            let message = pattern(100 + i, seed: i)
            try client.send(message)
            #expect(try client.receive(message.count) == message)
        }
        let connection = try #require(server.events.connections.withLock { $0.first })
        connection.eventLoop.execute { Array("task".utf8).withUnsafeBytes { connection.write($0) } }
        #expect(try client.receive(4) == Array("task".utf8))
    }

    @Test func ipv6Loopback() throws {
        let server = try TestServer(tls: serverContext()) { $0.host = "::1" }
        defer { server.server.stop() }
        let client = try TLSClientSocket.connect(host: "::1", port: server.port, context: clientContext(), serverName: nil, timeout: .seconds(5))
        defer { client.close() }
        try client.send([1, 2, 3])
        #expect(try client.receive(3) == [1, 2, 3])
    }
}

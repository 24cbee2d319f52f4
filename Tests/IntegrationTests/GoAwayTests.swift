import Foundation
import Testing
import TensorWireClient
import TensorWireProtocol
import TensorWireTransport

@Suite struct GoAwayTests {
    @Test func acceptedCallsFinishAndRefusedOnesAreSafeToRetry() async throws {
        let certificates = TestEnvironment.certificates
        let context = try TLSContext(configuration: .server(
            certificateChainFile: certificates + "/server.pem", privateKeyFile: certificates + "/server-key.pem"))
        // Once two requests are in, the server goes away gracefully: GOAWAY(OK) naming the first
        // as the last it will process, then that request's answer, then close.
        let server = TLSServer(configuration: TLSServerConfiguration(), tls: context) { _ in
            var requests: [UInt32] = []
            return ScriptedSession { header, writer, connection in
                guard header.type == .request else { return }
                requests.append(header.streamID)
                guard requests.count == 2 else { return }
                writer.writeGoAway(GoAway(lastStreamID: requests[0], code: .ok, message: "maintenance"))
                writer.writeResponse(streamID: requests[0], head: ResponseHead(status: .ok)) { w, start in
                    w.writeInferResponse(modelName: "m", modelVersion: 1, outputs: [], payloadStart: start)
                }
                writer.withUnsafeReadableBytes { connection.write($0) }
                writer.clear()
                connection.close()
            }
        }
        let port = try server.start()
        defer { server.stop() }
        let client = try TensorWireClient(configuration: TestEnvironment.clientConfiguration(port: port, clientCertificate: false))
        let input = try WireTensor(name: "x", shape: [1], floats: [1])

        let first = Task { try await client.infer(model: "m", inputs: [input], timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(50))  // keep stream ids in order: first is 1
        let second = Task { try await client.infer(model: "m", inputs: [input], timeout: .seconds(10)) }

        let accepted = try await first.value
        #expect(accepted.modelName == "m")
        let refusal = await #expect(throws: RPCError.self) { _ = try await second.value }
        #expect(refusal?.code == .unavailable)
        #expect(refusal?.message.contains("safe to retry") == true)
    }
}

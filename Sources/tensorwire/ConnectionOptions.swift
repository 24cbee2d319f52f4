import TensorWireClient

/// Connection flags shared by every subcommand that talks to a server.
struct ConnectionOptions {
    var host = "127.0.0.1"
    var port = 7443
    var caFile: String?
    var certificateFile: String?
    var privateKeyFile: String?
    var serverName: String?
    var token = ""
    var timeoutMilliseconds: Int?
    var noClientCertificate = false

    static let help = """
      connection options (default: 127.0.0.1:7443 with the dev certificates from `make serve`):
        --host ADDR  --port N  --ca FILE  --cert FILE  --key FILE  --server-name NAME
        --token TOKEN  --timeout-ms N  --no-client-cert
    """

    /// Consumes a connection flag at the front of `arguments`; returns false if it is not one.
    mutating func consume(_ flag: String, from arguments: inout ArgumentList) throws(CLIError) -> Bool {
        switch flag {
        case "--host": host = try arguments.value(for: flag)
        case "--port": port = try arguments.integer(for: flag)
        case "--ca": caFile = try arguments.value(for: flag)
        case "--cert": certificateFile = try arguments.value(for: flag)
        case "--key": privateKeyFile = try arguments.value(for: flag)
        case "--server-name": serverName = try arguments.value(for: flag)
        case "--token": token = try arguments.value(for: flag)
        case "--timeout-ms": timeoutMilliseconds = try arguments.integer(for: flag)
        case "--no-client-cert": noClientCertificate = true
        default: return false
        }
        return true
    }

    func clientConfiguration() throws(CLIError) -> ClientConfiguration {
        var configuration = ClientConfiguration(host: host, port: port, serverName: serverName, authToken: token)
        guard DevelopmentCertificates.apply(to: &configuration, caFile: caFile, certificateFile: certificateFile,
                                            privateKeyFile: privateKeyFile, presentClientCertificate: !noClientCertificate) else {
            throw CLIError(DevelopmentCertificates.missingTrustRootsMessage)
        }
        if let timeoutMilliseconds { configuration.defaultTimeout = .milliseconds(timeoutMilliseconds) }
        return configuration
    }

    func connect() throws(CLIError) -> TensorWireClient {
        let configuration = try clientConfiguration()
        do { return try TensorWireClient(configuration: configuration) } catch {
            throw CLIError("cannot connect to \(host):\(port): \(error)", status: error.code.name)
        }
    }
}

/// A user-facing failure: printed as one line, exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    /// The RPC status name when the failure came from the server.
    var status: String?
    init(_ description: String, status: String? = nil) {
        self.description = description
        self.status = status
    }
}

/// The command line as a queue of words.
struct ArgumentList {
    private var words: ArraySlice<String>
    init(_ words: [String]) { self.words = words[...] }

    var isEmpty: Bool { words.isEmpty }
    mutating func next() -> String? { words.popFirst() }

    mutating func value(for flag: String) throws(CLIError) -> String {
        guard let value = words.popFirst() else { throw CLIError("\(flag) needs a value") }
        return value
    }

    mutating func integer(for flag: String) throws(CLIError) -> Int {
        let text = try value(for: flag)
        guard let value = Int(text), value >= 0 else { throw CLIError("\(flag) needs a non-negative integer, got '\(text)'") }
        return value
    }
}

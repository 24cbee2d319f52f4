#if canImport(Glibc)
import Glibc
#endif
import TensorWireProtocol
import TensorWireServer
import TensorWireTransport

let usage = """
usage: tensorwire-server --models DIR --cert FILE --key FILE [options]

  --models DIR                 model repository (<model>/config.json, <model>/<version>/model.onnx)
  --host ADDR                  address to bind (default 127.0.0.1)
  --port N                     port to bind, 0 for an ephemeral port (default 7443)
  --cert FILE                  server certificate chain (PEM)
  --key FILE                   server private key (PEM)
  --ca FILE                    CA bundle for client certificates (mutual TLS)
  --client-auth MODE           none | optional | required (default: optional with --ca, else none)
  --tls-min VERSION            1.3 (default) or 1.2
  --event-loops N              I/O threads (default 1)
  --busy-poll                  spin event loops instead of sleeping (dedicated cores)
  --compute-threads N          threads running queued requests and batches (default: cores)
  --compute-busy-poll          spin compute threads instead of sleeping (dedicated cores)
  --pin-compute-threads        pin compute thread i to core i
  --max-frame-size BYTES       largest request payload accepted (default 4194304)
  --max-concurrent-streams N   requests in flight per connection (default 256)
  --auth-token-file FILE       accepted HELLO tokens, one per line: NAME:TOKEN names the caller
                               token:NAME for model access policies, a bare TOKEN names no one
                               (default: no token needed)
  --default-deny               a model whose config.json has no "access" section is callable by
                               nobody (default: by any authenticated caller)
"""

func fail(_ message: String) -> Never {
    var line = "tensorwire-server: \(message)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func integer(_ text: String, _ flag: String) -> Int {
    guard let value = Int(text), value >= 0 else { fail("\(flag) needs a non-negative integer, got '\(text)'") }
    return value
}

var arguments = CommandLine.arguments.dropFirst()
var options: [String: String] = [:]
var busyPoll = false
var computeBusyPoll = false
var pinComputeThreads = false
var defaultDeny = false
while let flag = arguments.popFirst() {
    switch flag {
    case "-h", "--help":
        print(usage)
        exit(0)
    case "--busy-poll":
        busyPoll = true
    case "--compute-busy-poll":
        computeBusyPoll = true
    case "--pin-compute-threads":
        pinComputeThreads = true
    case "--default-deny":
        defaultDeny = true
    case "--models", "--host", "--port", "--cert", "--key", "--ca", "--client-auth", "--tls-min",
         "--event-loops", "--compute-threads", "--max-frame-size", "--max-concurrent-streams", "--auth-token-file":
        guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
        options[flag] = value
    default:
        fail("unknown option '\(flag)'\n\(usage)")
    }
}
guard let models = options["--models"], let cert = options["--cert"], let key = options["--key"] else {
    fail("--models, --cert and --key are required\n\(usage)")
}

var configuration = ServerConfiguration(modelRepository: models, certificateChainFile: cert, privateKeyFile: key)
configuration.host = options["--host"] ?? configuration.host
if let port = options["--port"] { configuration.port = integer(port, "--port") }
configuration.clientTrustRootsFile = options["--ca"]
switch options["--client-auth"] ?? (options["--ca"] == nil ? "none" : "optional") {
case "none": configuration.clientAuthentication = .none
case "optional": configuration.clientAuthentication = .optional
case "required": configuration.clientAuthentication = .required
case let other: fail("--client-auth must be none, optional or required, got '\(other)'")
}
if configuration.clientAuthentication != .none && configuration.clientTrustRootsFile == nil {
    fail("--client-auth \(options["--client-auth"]!) needs --ca to verify client certificates")
}
switch options["--tls-min"] ?? "1.3" {
case "1.3": configuration.minimumTLSVersion = .tls13
case "1.2": configuration.minimumTLSVersion = .tls12
case let other: fail("--tls-min must be 1.2 or 1.3, got '\(other)'")
}
if let loops = options["--event-loops"] { configuration.eventLoopCount = max(1, integer(loops, "--event-loops")) }
configuration.busyPoll = busyPoll
configuration.computeBusyPoll = computeBusyPoll
configuration.pinComputeThreads = pinComputeThreads
configuration.defaultDeny = defaultDeny
if let threads = options["--compute-threads"] { configuration.computeThreads = max(1, integer(threads, "--compute-threads")) }
if let size = options["--max-frame-size"] {
    let value = integer(size, "--max-frame-size")
    guard (16 << 10 ... 64 << 20).contains(value) else { fail("--max-frame-size must be between 16 KiB and 64 MiB") }
    configuration.connectionSettings.maxFrameSize = value
}
if let streams = options["--max-concurrent-streams"] {
    configuration.connectionSettings.maxConcurrentStreams = max(1, integer(streams, "--max-concurrent-streams"))
}
if let tokenFile = options["--auth-token-file"] {
    guard let file = fopen(tokenFile, "r") else { fail("cannot read \(tokenFile)") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes += chunk[..<count]
        if bytes.count > 1 << 20 { fail("\(tokenFile) is larger than 1 MiB") }
    }
    fclose(file)
    guard let text = String(validating: bytes, as: UTF8.self) else { fail("\(tokenFile) is not UTF-8 text") }
    do {
        let tokens = try AuthTokenFile(parsing: text)
        configuration.authTokens = tokens.unnamed
        configuration.namedAuthTokens = tokens.named
    } catch {
        fail("\(tokenFile): \(error)")
    }
}

// Block the shutdown signals before any thread starts so that every thread inherits the mask
// and only sigwait below receives them.
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGINT)
sigaddset(&signals, SIGTERM)
pthread_sigmask(SIG_BLOCK, &signals, nil)
signal(SIGPIPE, SIG_IGN)
AllocatorTuning.keepFreedMemoryForReuse()

let server: TensorWireServer
let port: Int
do {
    server = try TensorWireServer(configuration: configuration)
    port = try server.start()
} catch {
    fail("\(error)")
}
for model in server.models {
    let versions = model.versions.map(String.init).joined(separator: ",")
    print("model \(model.name) versions [\(versions)] \(model.ready ? "READY" : "NOT READY")")
}
print("tensorwire-server listening on \(configuration.host):\(port) (TLS \(configuration.minimumTLSVersion == .tls13 ? "1.3" : "1.2+"), client certificates \(configuration.clientAuthentication))")
fflush(nil)  // all streams: tests and scripts wait for the "listening on" line

var received: Int32 = 0
sigwait(&signals, &received)
print("tensorwire-server: signal \(received), shutting down")
server.stop()

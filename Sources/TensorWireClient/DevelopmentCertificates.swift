#if canImport(Glibc)
import Glibc
#endif

/// Finds the development certificates that `make serve` creates (certs/dev), so that tools run
/// with no connection flags can talk to a local development server.
public enum DevelopmentCertificates {
    /// The files of a development PKI.
    public struct Files: Sendable, Equatable {
        public var caFile: String
        public var certificateFile: String
        public var privateKeyFile: String
    }

    /// Looks in `$TENSORWIRE_CERTS`, then `./certs/dev`, then `certs/dev` in the directories
    /// above the running executable (so a binary under `.build/` finds its checkout's certs).
    public static func locate() -> Files? {
        var candidates: [String] = []
        if let fromEnvironment = getenv("TENSORWIRE_CERTS") { candidates.append(String(cString: fromEnvironment)) }
        candidates.append("certs/dev")
        var directory = executableDirectory()
        while let current = directory, current != "/" && !current.isEmpty {
            candidates.append(current + "/certs/dev")
            directory = parent(of: current)
        }
        for candidate in candidates {
            let files = Files(caFile: candidate + "/ca.pem", certificateFile: candidate + "/client.pem",
                              privateKeyFile: candidate + "/client-key.pem")
            if access(files.caFile, R_OK) == 0 { return files }
        }
        return nil
    }

    /// What tools print when neither `--ca` nor a development PKI is there.
    public static let missingTrustRootsMessage =
        "no CA to verify the server with: pass --ca FILE, or run `make serve` once to create certs/dev"

    /// Fills in the TLS files the way every TensorWire tool does: files given explicitly win;
    /// without `--ca` the development PKI supplies the CA and (unless `presentClientCertificate`
    /// is false) the client certificate. The dev client certificate is never paired with
    /// someone else's CA. Returns false when no CA is known at all.
    public static func apply(
        to configuration: inout ClientConfiguration, caFile: String?, certificateFile: String?,
        privateKeyFile: String?, presentClientCertificate: Bool
    ) -> Bool {
        let development = locate()
        configuration.trustRootsFile = caFile ?? development?.caFile
        if presentClientCertificate {
            configuration.certificateChainFile = certificateFile ?? (caFile == nil ? development?.certificateFile : nil)
            configuration.privateKeyFile = privateKeyFile ?? (caFile == nil ? development?.privateKeyFile : nil)
        }
        return configuration.trustRootsFile != nil
    }

    private static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return parent(of: String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    private static func parent(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }
}

// swift-tools-version:6.0
import PackageDescription

// The engine is the only place where the target CPU matters: without it, SIMD FMA lowers to a
// libm call per lane (see docs/ARCHITECTURE.md, "Build"). Unsafe flags stay off every target of
// the client library so that it remains usable as a dependency.
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"], .when(configuration: .release)),
]

let package = Package(
    name: "TensorWire",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TensorWireClient", targets: ["TensorWireClient"]),
        .library(name: "TensorWireProtocol", targets: ["TensorWireProtocol"]),
        .executable(name: "tensorwire-server", targets: ["tensorwire-server"]),
        .executable(name: "tensorwire", targets: ["tensorwire"]),
        .executable(name: "tensorwire-loadgen", targets: ["tensorwire-loadgen"]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CLinuxShims"),
        .target(name: "CCPUFeatures"),
        .target(name: "TensorWireProtocol"),
        .target(name: "TensorWireTransport", dependencies: ["COpenSSL", "CLinuxShims"]),
        .target(name: "InferenceEngine", dependencies: ["CCPUFeatures"], swiftSettings: engineSettings),
        .target(
            name: "TensorWireServer",
            dependencies: ["TensorWireProtocol", "TensorWireTransport", "InferenceEngine"]
        ),
        .target(name: "TensorWireClient", dependencies: ["TensorWireProtocol", "TensorWireTransport"]),
        .target(name: "LoadGenerator", dependencies: ["TensorWireClient", "TensorWireProtocol", "TensorWireTransport"]),
        .executableTarget(name: "tensorwire-server", dependencies: ["TensorWireServer"]),
        .executableTarget(name: "tensorwire-loadgen", dependencies: ["LoadGenerator", "TensorWireClient"]),
        .executableTarget(name: "tensorwire", dependencies: ["TensorWireClient", "InferenceEngine"]),
        .executableTarget(
            name: "tensorwire-bench",
            dependencies: ["TensorWireClient", "TensorWireServer", "TensorWireTransport", "InferenceEngine"],
            path: "Benchmarks/tensorwire-bench"
        ),
        // Counts malloc calls by replacing glibc's entry points: linked into the probe only.
        .target(name: "CAllocationCounter", path: "Tests/AllocationProbe/CAllocationCounter"),
        .executableTarget(
            name: "tensorwire-alloc-probe",
            dependencies: ["InferenceEngine", "CAllocationCounter"],
            path: "Tests/AllocationProbe/Probe"
        ),
        .testTarget(name: "TensorWireProtocolTests", dependencies: ["TensorWireProtocol"]),
        .testTarget(name: "TensorWireTransportTests", dependencies: ["TensorWireTransport"]),
        .testTarget(name: "InferenceEngineTests", dependencies: ["InferenceEngine"]),
        .testTarget(name: "TensorWireClientTests", dependencies: ["TensorWireClient", "TensorWireProtocol"]),
        .testTarget(
            name: "TensorWireServerTests",
            dependencies: ["TensorWireServer", "TensorWireTransport", "TensorWireProtocol", "InferenceEngine"]
        ),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: ["LoadGenerator", "TensorWireClient", "TensorWireProtocol", "TensorWireTransport"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["TensorWireClient", "TensorWireServer", "TensorWireProtocol", "TensorWireTransport", "InferenceEngine"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

import Foundation
import Testing
@testable import InferenceEngine

/// Opt-in throughput check (`TENSORWIRE_BENCH=1 swift test -c release -Xswiftc -enable-testing
/// --filter Benchmark`); prints GFLOP/s of the baseline GEMM, the credit model latency and the
/// PyTorch zoo latencies (`TENSORWIRE_BENCH_FILTER=cnn2d` limits those to matching cases and
/// runs them longer, e.g. under `perf record`).
@Suite("Benchmark", .serialized, .enabled(if: ProcessInfo.processInfo.environment["TENSORWIRE_BENCH"] != nil))
struct BenchmarkTests {
    @Test(arguments: [(1, 512, 512), (64, 512, 512), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024)])
    func gemmThroughput(_ dims: (Int, Int, Int)) {
        let (m, n, k) = dims
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        let flops = 2.0 * Double(m * n * k)
        let iterations = max(1, Int(2e9 / flops))
        let start = ContinuousClock.now
        for _ in 0..<iterations {
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                GemmKernel.multiplyAccumulate(m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                                              c: pc.baseAddress!, ldc: n)
            } } }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        print("GEMM \(m)x\(n)x\(k): \(String(format: "%.1f", flops * Double(iterations) / seconds / 1e9)) GFLOP/s")
    }

    @Test func creditModelLatency() throws {
        let model = try Model(contentsOf: repoPath("examples/models/credit_default/1/model.onnx"), outputTypes: Model.allOutputTypes)
        for batch in [1, 64] {
            let input = Tensor(shape: [batch, 10], scalars: [Float](repeating: 1, count: batch * 10))
            let iterations = 20_000
            let start = ContinuousClock.now
            for _ in 0..<iterations { _ = try model.run(["features": input]) }
            let micros = (ContinuousClock.now - start) / .microseconds(1) / Double(iterations)
            print("credit_default batch \(batch): \(String(format: "%.2f", micros)) µs/run")
        }
    }

    /// Per-model latency of the PyTorch zoo (compare with `python3 Benchmarks/engine/side_by_side.py --models all --batch 3 --threads 1`).
    @Test func zooLatency() throws {
        let only = ProcessInfo.processInfo.environment["TENSORWIRE_BENCH_FILTER"]
        for zoo in zooCases where zoo.fixture.name.hasSuffix("batch3") && (only == nil || zoo.fixture.name.contains(only!)) {
            let model = try Model(contentsOf: repoPath(zoo.fixture.model), outputTypes: Model.allOutputTypes)
            let feeds = zoo.fixture.inputs.mapValues(\.tensor)
            _ = try model.run(feeds)
            let iterations = only == nil ? 300 : 20_000
            let start = ContinuousClock.now
            for _ in 0..<iterations { _ = try model.run(feeds) }
            let micros = (ContinuousClock.now - start) / .microseconds(1) / Double(iterations)
            print("zoo \(zoo.fixture.name): \(String(format: "%.1f", micros)) µs/run")
        }
    }
}

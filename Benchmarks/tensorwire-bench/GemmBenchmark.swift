import Foundation
import InferenceEngine

/// `tensorwire-bench gemm`: the packed SGEMM as a fraction of this machine's measured FMA peak.
///
/// Every round measures the single-thread FMA peak right before the kernel, and the reported
/// fraction is the median of the per-round ratios: on a shared machine a neighbour's build then
/// slows both halves of a ratio alike instead of skewing it.
enum GemmBenchmark {
    static func run() {
        print("shape             threads   GFLOP/s   peak GFLOP/s   % of 1-core peak   % of n-core peak")
        for size in [256, 1024] {
            for threads in [1, 2] {
                let r = KernelBenchmark.gemm(m: size, n: size, k: size, threads: threads)
                print(line("\(size)x\(size)x\(size)", threads, r) + String(format: "   %15.1f%%", 100 * r.fractionOfPeak / Double(threads)))
            }
        }
        for (n, k) in [(1024, 1024), (256, 256)] {
            for threads in [1, 2] {
                let r = KernelBenchmark.gemm(m: 1, n: n, k: k, threads: threads)
                print(line("GEMV 1x\(n)x\(k)", threads, r) + String(format: "   B at %.1f GB/s", r.gigabytesPerSecond))
            }
        }
    }

    static func line(_ shape: String, _ threads: Int, _ r: KernelBenchmark.Result) -> String {
        shape.padding(toLength: 17, withPad: " ", startingAt: 0)
            + String(format: " %7d   %7.1f   %12.1f   %15.1f%%", threads, r.gflops, r.peakGFLOPS, 100 * r.fractionOfPeak)
    }
}

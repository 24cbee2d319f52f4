/// Throughput of the engine's compute kernels, for `tensorwire-bench gemm`.
///
/// These live in the engine rather than in the benchmark so that they are compiled exactly as
/// the kernels are (with the engine's target CPU): a peak measured with other code generation
/// would not be the peak the kernels can reach.
public enum KernelBenchmark {
    /// One measurement: medians over rounds that alternate a short peak measurement with the
    /// kernel's, so that on a shared machine both see the same load and their ratio holds.
    public struct Result: Sendable {
        /// Floating-point operations per second, in units of 10⁹ (multiply and add count as two).
        public var gflops: Double
        /// The single-thread FMA peak measured next to it (see ``peakGFLOPS(seconds:)``).
        public var peakGFLOPS: Double
        /// Median over rounds of `gflops / peak` (one thread's peak, whatever the thread count).
        public var fractionOfPeak: Double
        /// Bytes of the B operand streamed per second, in units of 10⁹ (GEMV only; else 0).
        public var gigabytesPerSecond: Double
    }

    /// Peak single-thread FMA throughput: independent `SIMD16<Float>` multiply-add chains, no
    /// memory traffic. Twelve chains cover the FMA latency on every x86 core with AVX-512; with
    /// AVX2 each chain is two ymm registers, so six chains (12 of the 16) do, where twelve would
    /// spill (``RegisterTiling``).
    public static func peakGFLOPS(seconds: Double = 0.05) -> Double {
        let iterations = 100_000
        let chains = RegisterTiling.native == .wide ? 12 : 6
        var calls = 0, sink: Float = 0
        let start = ContinuousClock.now
        var elapsed = 0.0
        repeat {
            sink += chains == 12 ? fmaChains(GemmKernel.Rows12.self, iterations: iterations, seed: sink)
                : fmaChains(GemmKernel.Rows6.self, iterations: iterations, seed: sink)
            calls += 1
            elapsed = (ContinuousClock.now - start) / .seconds(1)
        } while elapsed < seconds
        if !sink.isFinite { print("peakGFLOPS: diverged") }   // keeps the result observable
        return Double(calls * iterations * chains * 16 * 2) / elapsed / 1e9
    }

    /// `C.count` (6 or 12) chains, the count a constant in each specialisation.
    @inline(never)
    static func fmaChains<C: GemmKernel.TileRows>(_: C.Type, iterations: Int, seed: Float) -> Float {
        typealias V = SIMD16<Float>
        // a ← y + a·x converges (to y / (1 − x)), so no lane ever overflows or goes subnormal.
        let x = V(repeating: 0.999_999), y = V(repeating: 1e-7 + seed * 1e-30)
        var a0 = V(repeating: 1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0
        var a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0
        for _ in 0..<iterations {
            a0 = y.addingProduct(a0, x); a1 = y.addingProduct(a1, x)
            a2 = y.addingProduct(a2, x); a3 = y.addingProduct(a3, x)
            a4 = y.addingProduct(a4, x); a5 = y.addingProduct(a5, x)
            if C.count > 6 {
                a6 = y.addingProduct(a6, x); a7 = y.addingProduct(a7, x)
                a8 = y.addingProduct(a8, x); a9 = y.addingProduct(a9, x)
                a10 = y.addingProduct(a10, x); a11 = y.addingProduct(a11, x)
            }
        }
        let s = ((a0 + a1) + (a2 + a3)) + (a4 + a5) + (C.count > 6 ? ((a6 + a7) + (a8 + a9)) + (a10 + a11) : V())
        return s.sum()
    }

    /// `C = A·B` with B packed once (as a model's weights are), `threads` sharing the work.
    public static func gemm(m: Int, n: Int, k: Int, threads: Int, rounds: Int = 7, secondsPerRound: Double = 0.15) -> Result {
        let pool = threads > 1 ? IntraOpPool(threadCount: threads) : nil
        let a = (0..<(m * k)).map { Float($0 % 7) * 0.125 - 0.375 }
        let b = (0..<(k * n)).map { Float($0 % 5) * 0.25 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        let packed = b.withUnsafeBufferPointer { PackedMatrix(rows: k, columns: n, from: $0.baseAddress!, ldb: n) }
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        var rates: [Double] = [], peaks: [Double] = [], fractions: [Double] = []
        a.withUnsafeBufferPointer { pa in c.withUnsafeMutableBufferPointer { pc in
            let pA = pa.baseAddress!, pC = pc.baseAddress!
            func run() {
                GemmKernel.multiply(m: m, n: n, k: k, a: pA, lda: k, b: packed, beta: 0, c: pC, ldc: n, pool: pool)
            }
            run()
            for _ in 0..<rounds {
                let peak = peakGFLOPS()
                var calls = 0
                let start = ContinuousClock.now
                var elapsed = 0.0
                repeat {
                    run()
                    calls += 1
                    elapsed = (ContinuousClock.now - start) / .seconds(1)
                } while elapsed < secondsPerRound
                let rate = flops * Double(calls) / elapsed / 1e9
                rates.append(rate)
                peaks.append(peak)
                fractions.append(rate / peak)
            }
        } }
        let gflops = median(rates)
        let bytesPerFlop = m == 1 ? Double(k * n * 4) / flops : 0
        return Result(gflops: gflops, peakGFLOPS: median(peaks), fractionOfPeak: median(fractions),
                      gigabytesPerSecond: gflops * bytesPerFlop)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}

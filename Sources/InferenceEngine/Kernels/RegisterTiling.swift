import CCPUFeatures

/// How many accumulators a register-blocked micro-kernel (SGEMM, direct Conv) may keep live.
///
/// The kernels accumulate in `SIMD16<Float>`. With AVX-512 that is one of 32 zmm registers, so
/// a 12 × 32 tile (24 accumulators, 2 B vectors, 1 broadcast) fits. With AVX2 it is two of 16
/// ymm registers: the same tile needs 54 and spills on every step (measured on a Zen 3 EPYC:
/// 31 GFLOP/s, 36 % of peak, at 256³). There the kernels run 6 × 16 sub-tiles of the same tile
/// (12 ymm accumulators, 2 for B, 1 broadcast), the classic Haswell shape. The packed layouts do
/// not change, and every output element sees the same multiply-adds in the same order, so both
/// tilings give bit-identical results.
enum RegisterTiling: Sendable, CaseIterable {
    /// Up to 12 rows × 2 vectors (32 columns or two 16-pixel vectors).
    case wide
    /// Up to 6 rows × 1 vector.
    case compact

    /// The tiling for the CPU this process runs on (the engine is compiled for that CPU).
    static let native: RegisterTiling = tw_cpu_has_avx512f() != 0 ? .wide : .compact

    /// Rows of A (output channels, for Conv) per micro-kernel call.
    var rows: Int { self == .wide ? 12 : 6 }

    /// The size of the even groups `count` rows (or pixels) split into when no group may have
    /// more than `limit`: 8 with a limit of 6 is 4 + 4, not 6 + 2, so that every micro-kernel
    /// call keeps enough independent FMA chains to hide their latency.
    @inline(__always)
    static func evenGroupSize(_ count: Int, limit: Int) -> Int {
        let groups = (count + limit - 1) / limit
        return groups > 0 ? (count + groups - 1) / groups : 0
    }
}

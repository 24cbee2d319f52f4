#ifndef TENSORWIRE_CCPUFEATURES_H
#define TENSORWIRE_CCPUFEATURES_H

/// 1 when the CPU running this process has AVX-512F (32 vector registers of 512 bits), else 0.
/// The engine is compiled for the build machine's CPU, so this also says how SIMD16<Float>
/// was lowered: one zmm register with AVX-512, two ymm registers without.
int tw_cpu_has_avx512f(void);

#endif

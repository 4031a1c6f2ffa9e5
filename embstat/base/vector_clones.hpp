// EMBSTAT_VECTOR_CLONES — compile a hot O(n d) loop for three x86-64 levels, picked at load time.
//
// The project builds for baseline x86-64 (SSE2) so one binary runs anywhere; loops that stream
// the whole matrix in double (the geometry's per-row moments and column sums) are 3-5x faster
// with AVX2/FMA or AVX-512. GCC's target_clones emits a copy per level and an ifunc resolver
// that takes the best the CPU supports. Results may differ in the last bits between levels
// (vector width changes the order of a `#pragma omp simd` reduction), never between thread
// counts or runs on one machine.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EMBSTAT_VECTOR_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define EMBSTAT_VECTOR_CLONES
#endif

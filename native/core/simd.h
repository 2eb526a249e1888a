// Function multi-versioning for element-wise loops: on x86-64 Linux with GCC or Clang, a function
// marked NASX_VECTOR_CLONES is compiled for AVX-512, AVX2 and baseline x86-64, and the loader picks
// the best for the running CPU (no per-file flags, one binary for every machine).
#pragma once

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__SANITIZE_ADDRESS__)
#define NASX_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NASX_VECTOR_CLONES
#endif

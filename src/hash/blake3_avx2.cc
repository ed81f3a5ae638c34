// AVX2 BLAKE3 backend: compresses 8 independent inputs at once, one input per
// 32-bit lane. Compiled with -mavx2; only called after a run-time CPU check.
//
// Apart from the two exported symbols, everything here has internal linkage
// and only intrinsics headers are included, so no AVX2 code can leak into
// inline functions shared with other translation units.
#include "hash/blake3_internal.h"

#if defined(__AVX2__)
#include <immintrin.h>

namespace cellar::hash::internal {
namespace {

#define CELLAR_INLINE inline __attribute__((always_inline))

CELLAR_INLINE __m256i Add(__m256i a, __m256i b) {
  return _mm256_add_epi32(a, b);
}
CELLAR_INLINE __m256i Xor(__m256i a, __m256i b) {
  return _mm256_xor_si256(a, b);
}

// Rotations by 16 and 8 are byte shuffles. The shuffle masks are taken as
// memory operands (inline asm): with all 16 ymm registers holding the state,
// keeping the masks in registers makes GCC spill state words instead.
alignas(32) const uint8_t kRotR16Mask[32] = {
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,  //
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
alignas(32) const uint8_t kRotR8Mask[32] = {
    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,  //
    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12};

CELLAR_INLINE __m256i ShuffleBytes(__m256i x, const uint8_t (&mask)[32]) {
  __m256i r;
  asm("vpshufb {%2, %1, %0|%0, %1, %2}"
      : "=x"(r)
      : "x"(x), "m"(*reinterpret_cast<const __m256i*>(mask)));
  return r;
}
CELLAR_INLINE __m256i RotR16(__m256i x) { return ShuffleBytes(x, kRotR16Mask); }
CELLAR_INLINE __m256i RotR8(__m256i x) { return ShuffleBytes(x, kRotR8Mask); }
// The others take two shifts and an OR.
CELLAR_INLINE __m256i RotR12(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
CELLAR_INLINE __m256i RotR7(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

// First and second half of the mixing function G on one column or diagonal.
CELLAR_INLINE void GFirst(__m256i& a, __m256i& b, __m256i& c, __m256i& d,
                          __m256i x) {
  a = Add(Add(a, x), b);
  d = RotR16(Xor(d, a));
  c = Add(c, d);
  b = RotR12(Xor(b, c));
}
CELLAR_INLINE void GSecond(__m256i& a, __m256i& b, __m256i& c, __m256i& d,
                           __m256i y) {
  a = Add(Add(a, y), b);
  d = RotR8(Xor(d, a));
  c = Add(c, d);
  b = RotR7(Xor(b, c));
}

// G on four columns (or diagonals). Working on two of them at a time keeps
// register pressure low enough for GCC (the state alone fills all 16 ymm
// registers) while the CPU still overlaps the independent chains; measured
// ~15% faster than interleaving all four.
CELLAR_INLINE void G4(__m256i& a0, __m256i& b0, __m256i& c0, __m256i& d0,  //
                      __m256i& a1, __m256i& b1, __m256i& c1, __m256i& d1,  //
                      __m256i& a2, __m256i& b2, __m256i& c2, __m256i& d2,  //
                      __m256i& a3, __m256i& b3, __m256i& c3, __m256i& d3,  //
                      __m256i x0, __m256i y0, __m256i x1, __m256i y1,      //
                      __m256i x2, __m256i y2, __m256i x3, __m256i y3) {
  GFirst(a0, b0, c0, d0, x0);
  GFirst(a1, b1, c1, d1, x1);
  GSecond(a0, b0, c0, d0, y0);
  GSecond(a1, b1, c1, d1, y1);
  GFirst(a2, b2, c2, d2, x2);
  GFirst(a3, b3, c3, d3, x3);
  GSecond(a2, b2, c2, d2, y2);
  GSecond(a3, b3, c3, d3, y3);
}

// One round: columns, then diagonals, with the message words of round R.
#define CELLAR_B3_ROUND(R)                                                   \
  do {                                                                       \
    constexpr const uint8_t* s = kSchedule.idx[R];                           \
    G4(v0, v4, v8, v12, v1, v5, v9, v13, v2, v6, v10, v14, v3, v7, v11, v15, \
       m[s[0]], m[s[1]], m[s[2]], m[s[3]], m[s[4]], m[s[5]], m[s[6]],        \
       m[s[7]]);                                                             \
    G4(v0, v5, v10, v15, v1, v6, v11, v12, v2, v7, v8, v13, v3, v4, v9, v14, \
       m[s[8]], m[s[9]], m[s[10]], m[s[11]], m[s[12]], m[s[13]], m[s[14]],   \
       m[s[15]]);                                                            \
  } while (0)

// In-place transpose of an 8x8 matrix of 32-bit words: afterwards lane i of
// r[j] holds what was lane j of r[i].
CELLAR_INLINE void Transpose8(__m256i r[8]) {
  __m256i t[8];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[k] (k = 0..3) holds words k and k + 4 of rows 0..3, u[4 + k] of
  // rows 4..7.
  __m256i u[8];
#pragma GCC unroll 8
  for (int h = 0; h < 2; ++h) {
    const int o = 4 * h;
    u[o + 0] = _mm256_unpacklo_epi64(t[o + 0], t[o + 2]);
    u[o + 1] = _mm256_unpackhi_epi64(t[o + 0], t[o + 2]);
    u[o + 2] = _mm256_unpacklo_epi64(t[o + 1], t[o + 3]);
    u[o + 3] = _mm256_unpackhi_epi64(t[o + 1], t[o + 3]);
  }
#pragma GCC unroll 8
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
}

// Loads block `offset` of the 8 inputs so that m[w] lane i = word w of input i.
CELLAR_INLINE void LoadMessage(const uint8_t* const* inputs, size_t offset,
                               __m256i m[16]) {
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    const uint8_t* p = inputs[i] + offset;
    // Callers pass consecutive chunks: warm up the same block of the chunk
    // the next call will read (a prefetch never faults, whatever the address).
    _mm_prefetch(reinterpret_cast<const char*>(p + 8 * kChunkLen), _MM_HINT_T0);
    m[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    m[8 + i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
  }
  Transpose8(m);
  Transpose8(m + 8);
}

}  // namespace

void HashMany8Avx2(const uint8_t* const* inputs, size_t blocks,
                   const uint32_t key[8], uint64_t counter,
                   bool increment_counter, uint8_t flags, uint8_t flags_start,
                   uint8_t flags_end, uint8_t* out) {
  uint32_t lo[8], hi[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = static_cast<uint32_t>(c);
    hi[i] = static_cast<uint32_t>(c >> 32);
  }
  const __m256i counter_lo =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo));
  const __m256i counter_hi =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi));
  const __m256i block_len = _mm256_set1_epi32(static_cast<int>(kBlockLen));

  __m256i h[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    h[i] = _mm256_set1_epi32(static_cast<int>(key[i]));

  for (size_t b = 0; b < blocks; ++b) {
    uint8_t block_flags = flags;
    if (b == 0) block_flags |= flags_start;
    if (b + 1 == blocks) block_flags |= flags_end;

    __m256i m[16];
    LoadMessage(inputs, b * kBlockLen, m);

    __m256i v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
    __m256i v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
    __m256i v8 = _mm256_set1_epi32(static_cast<int>(kIv[0]));
    __m256i v9 = _mm256_set1_epi32(static_cast<int>(kIv[1]));
    __m256i v10 = _mm256_set1_epi32(static_cast<int>(kIv[2]));
    __m256i v11 = _mm256_set1_epi32(static_cast<int>(kIv[3]));
    __m256i v12 = counter_lo, v13 = counter_hi, v14 = block_len;
    __m256i v15 = _mm256_set1_epi32(block_flags);
    CELLAR_B3_ROUND(0);
    CELLAR_B3_ROUND(1);
    CELLAR_B3_ROUND(2);
    CELLAR_B3_ROUND(3);
    CELLAR_B3_ROUND(4);
    CELLAR_B3_ROUND(5);
    CELLAR_B3_ROUND(6);
    h[0] = Xor(v0, v8);
    h[1] = Xor(v1, v9);
    h[2] = Xor(v2, v10);
    h[3] = Xor(v3, v11);
    h[4] = Xor(v4, v12);
    h[5] = Xor(v5, v13);
    h[6] = Xor(v6, v14);
    h[7] = Xor(v7, v15);
  }

  Transpose8(h);
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), h[i]);
  }
}

#undef CELLAR_B3_ROUND
#undef CELLAR_INLINE

extern const bool kAvx2KernelCompiled = true;

}  // namespace cellar::hash::internal

#else  // !__AVX2__: this compiler/target cannot build the AVX2 kernel.

namespace cellar::hash::internal {

void HashMany8Avx2(const uint8_t* const* inputs, size_t blocks,
                   const uint32_t key[8], uint64_t counter,
                   bool increment_counter, uint8_t flags, uint8_t flags_start,
                   uint8_t flags_end, uint8_t* out) {
  HashManyPortable(inputs, 8, blocks, key, counter, increment_counter, flags,
                   flags_start, flags_end, out);
}

extern const bool kAvx2KernelCompiled = false;

}  // namespace cellar::hash::internal

#endif

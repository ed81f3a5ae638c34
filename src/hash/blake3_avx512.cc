// AVX-512 BLAKE3 backend: compresses 16 independent inputs at once, one input
// per 32-bit lane of a zmm register. Compiled with -mavx512f; only called
// after a run-time CPU check. Twice the lanes of the AVX2 kernel, native
// rotates (vprord) and 32 registers, so the state and message never spill.
//
// Apart from the two exported symbols, everything here has internal linkage
// and only intrinsics headers are included, so no AVX-512 code can leak into
// inline functions shared with other translation units.
#include "hash/blake3_internal.h"

#if defined(__AVX512F__)
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_epi32() as the unused
// merge source and then warn that it is uninitialized (GCC bug 105593, fixed
// in GCC 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace cellar::hash::internal {
namespace {

#define CELLAR_INLINE inline __attribute__((always_inline))

CELLAR_INLINE void G(__m512i& a, __m512i& b, __m512i& c, __m512i& d, __m512i x, __m512i y) {
  a = _mm512_add_epi32(_mm512_add_epi32(a, x), b);
  d = _mm512_ror_epi32(_mm512_xor_si512(d, a), 16);
  c = _mm512_add_epi32(c, d);
  b = _mm512_ror_epi32(_mm512_xor_si512(b, c), 12);
  a = _mm512_add_epi32(_mm512_add_epi32(a, y), b);
  d = _mm512_ror_epi32(_mm512_xor_si512(d, a), 8);
  c = _mm512_add_epi32(c, d);
  b = _mm512_ror_epi32(_mm512_xor_si512(b, c), 7);
}

// One round: four columns, then four diagonals, with the message words of
// round R.
#define CELLAR_B3_ROUND(R)                        \
  do {                                            \
    constexpr const uint8_t* s = kSchedule.idx[R]; \
    G(v0, v4, v8, v12, m[s[0]], m[s[1]]);         \
    G(v1, v5, v9, v13, m[s[2]], m[s[3]]);         \
    G(v2, v6, v10, v14, m[s[4]], m[s[5]]);        \
    G(v3, v7, v11, v15, m[s[6]], m[s[7]]);        \
    G(v0, v5, v10, v15, m[s[8]], m[s[9]]);        \
    G(v1, v6, v11, v12, m[s[10]], m[s[11]]);      \
    G(v2, v7, v8, v13, m[s[12]], m[s[13]]);       \
    G(v3, v4, v9, v14, m[s[14]], m[s[15]]);       \
  } while (0)

// In-place transpose of a 16x16 matrix of 32-bit words: afterwards lane i of
// r[j] holds what was lane j of r[i].
CELLAR_INLINE void Transpose16(__m512i r[16]) {
  // Within each 128-bit lane: pairs of rows interleaved by word...
  __m512i t[16];
#pragma GCC unroll 16
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  // ...then by pairs of words: u[4k + c], 128-bit lane j, holds word 4j + c
  // of rows 4k .. 4k + 3.
  __m512i u[16];
#pragma GCC unroll 16
  for (int k = 0; k < 4; ++k) {
    u[4 * k + 0] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  // Finally gather 128-bit lane j of u[c], u[4 + c], u[8 + c], u[12 + c]
  // into row 4j + c.
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m512i lo_ab = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);       // A0 A1 B0 B1
    const __m512i hi_ab = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);       // A2 A3 B2 B3
    const __m512i lo_cd = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);  // C0 C1 D0 D1
    const __m512i hi_cd = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);  // C2 C3 D2 D3
    r[0 + c] = _mm512_shuffle_i32x4(lo_ab, lo_cd, 0x88);   // A0 B0 C0 D0
    r[4 + c] = _mm512_shuffle_i32x4(lo_ab, lo_cd, 0xDD);   // A1 B1 C1 D1
    r[8 + c] = _mm512_shuffle_i32x4(hi_ab, hi_cd, 0x88);   // A2 B2 C2 D2
    r[12 + c] = _mm512_shuffle_i32x4(hi_ab, hi_cd, 0xDD);  // A3 B3 C3 D3
  }
}

// Loads block `offset` of the 16 inputs so that m[w] lane i = word w of
// input i.
CELLAR_INLINE void LoadMessage(const uint8_t* const* inputs, size_t offset, __m512i m[16]) {
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    const uint8_t* p = inputs[i] + offset;
    // Callers pass consecutive chunks: warm up the same block of the chunk
    // the next call will read (a prefetch never faults, whatever the address).
    _mm_prefetch(reinterpret_cast<const char*>(p + 16 * kChunkLen), _MM_HINT_T0);
    m[i] = _mm512_loadu_si512(p);
  }
  Transpose16(m);
}

}  // namespace

void HashMany16Avx512(const uint8_t* const* inputs, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  alignas(64) uint32_t lo[16], hi[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = static_cast<uint32_t>(c);
    hi[i] = static_cast<uint32_t>(c >> 32);
  }
  const __m512i counter_lo = _mm512_load_si512(lo);
  const __m512i counter_hi = _mm512_load_si512(hi);
  const __m512i block_len = _mm512_set1_epi32(static_cast<int>(kBlockLen));

  // h[8..15] stay zero: they pad the final transpose to 16 rows.
  __m512i h[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    h[i] = i < 8 ? _mm512_set1_epi32(static_cast<int>(key[i])) : _mm512_setzero_si512();
  }

  for (size_t b = 0; b < blocks; ++b) {
    uint8_t block_flags = flags;
    if (b == 0) block_flags |= flags_start;
    if (b + 1 == blocks) block_flags |= flags_end;

    __m512i m[16];
    LoadMessage(inputs, b * kBlockLen, m);

    __m512i v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
    __m512i v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
    __m512i v8 = _mm512_set1_epi32(static_cast<int>(kIv[0]));
    __m512i v9 = _mm512_set1_epi32(static_cast<int>(kIv[1]));
    __m512i v10 = _mm512_set1_epi32(static_cast<int>(kIv[2]));
    __m512i v11 = _mm512_set1_epi32(static_cast<int>(kIv[3]));
    __m512i v12 = counter_lo, v13 = counter_hi, v14 = block_len;
    __m512i v15 = _mm512_set1_epi32(block_flags);
    CELLAR_B3_ROUND(0);
    CELLAR_B3_ROUND(1);
    CELLAR_B3_ROUND(2);
    CELLAR_B3_ROUND(3);
    CELLAR_B3_ROUND(4);
    CELLAR_B3_ROUND(5);
    CELLAR_B3_ROUND(6);
    h[0] = _mm512_xor_si512(v0, v8);
    h[1] = _mm512_xor_si512(v1, v9);
    h[2] = _mm512_xor_si512(v2, v10);
    h[3] = _mm512_xor_si512(v3, v11);
    h[4] = _mm512_xor_si512(v4, v12);
    h[5] = _mm512_xor_si512(v5, v13);
    h[6] = _mm512_xor_si512(v6, v14);
    h[7] = _mm512_xor_si512(v7, v15);
  }

  Transpose16(h);
  // Row i now holds input i's chaining value in its low 8 words.
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), _mm512_castsi512_si256(h[i]));
  }
}

#undef CELLAR_B3_ROUND
#undef CELLAR_INLINE

extern const bool kAvx512KernelCompiled = true;

}  // namespace cellar::hash::internal

#else  // !__AVX512F__: this compiler/target cannot build the AVX-512 kernel.

namespace cellar::hash::internal {

void HashMany16Avx512(const uint8_t* const* inputs, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool increment_counter, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  HashManyPortable(inputs, 16, blocks, key, counter, increment_counter, flags, flags_start,
                   flags_end, out);
}

extern const bool kAvx512KernelCompiled = false;

}  // namespace cellar::hash::internal

#endif

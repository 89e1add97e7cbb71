// One chunk of a SIREN's full-batch MSE step (innr.perf.native): the squared-error sum over the
// chunk's rows and the gradient of the mean over all n rows, for every parameter.
//
// The rows go through in blocks small enough for a core's L2 cache. Each layer's product is
// computed in tiles of 6 rows x 64 outputs held in 24 AVX-512 registers; in the forward the
// tile gets the bias, sin and cos before it is stored, in the backward the cos factor and the
// bias gradient. Sequential: the same bits every run.
//
// The sin/cos constants come from innr.perf.sincos as -D flags (innr.perf.native.defines), so
// this kernel and inductor's build evaluate one polynomial.
#include <immintrin.h>
#include <cstdlib>
#include <cstring>

namespace {
constexpr int H = 64;  // hidden width: 4 vectors of 16 floats

// sin r = r + r^3 S(r^2), cos r = 1 + r^2 C(r^2) on |r| <= pi/2; x = k pi + r
constexpr float INV_PI = (float)(INNR_INV_PI), PI0 = (float)(INNR_PI0),
                PI1 = (float)(INNR_PI1), PI2 = (float)(INNR_PI2);
constexpr float S0 = (float)(INNR_S0), S1 = (float)(INNR_S1), S2 = (float)(INNR_S2),
                S3 = (float)(INNR_S3);
constexpr float C0 = (float)(INNR_C0), C1 = (float)(INNR_C1), C2 = (float)(INNR_C2),
                C3 = (float)(INNR_C3), C4 = (float)(INNR_C4);

inline void vsincos(__m512 x, __m512& s, __m512& c) {
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(INV_PI)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(PI0), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(PI1), r);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(PI2), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 ps = _mm512_fmadd_ps(z, _mm512_set1_ps(S3), _mm512_set1_ps(S2));
  ps = _mm512_fmadd_ps(z, ps, _mm512_set1_ps(S1));
  ps = _mm512_fmadd_ps(z, ps, _mm512_set1_ps(S0));
  __m512 pc = _mm512_fmadd_ps(z, _mm512_set1_ps(C4), _mm512_set1_ps(C3));
  pc = _mm512_fmadd_ps(z, pc, _mm512_set1_ps(C2));
  pc = _mm512_fmadd_ps(z, pc, _mm512_set1_ps(C1));
  pc = _mm512_fmadd_ps(z, pc, _mm512_set1_ps(C0));
  const __m512i sign = _mm512_slli_epi32(_mm512_cvtps_epi32(k), 31);  // (-1)^k as a sign bit
  s = _mm512_castsi512_ps(_mm512_xor_si512(
      _mm512_castps_si512(_mm512_fmadd_ps(_mm512_mul_ps(r, z), ps, r)), sign));
  c = _mm512_castsi512_ps(_mm512_xor_si512(
      _mm512_castps_si512(_mm512_fmadd_ps(z, pc, _mm512_set1_ps(1.0f))), sign));
}

// acc[i][j] += sum_k A[i*si + k*sk] * B[k*64 + 16j]: M rows of a 64-wide product
template <int M>
inline void tile(const float* A, long si, long sk, const float* B, int K, __m512 (&acc)[M][4]) {
  for (int k = 0; k < K; ++k) {
    const float* b = B + (long)k * H;
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16),
                 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m512 a = _mm512_set1_ps(A[i * si + k * sk]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(a, b2, acc[i][2]);
      acc[i][3] = _mm512_fmadd_ps(a, b3, acc[i][3]);
    }
  }
}

// forward of M rows: S = sin(w0 (A Wt + b)), C = w0 cos(w0 (A Wt + b))
template <int M>
void forward_rows(const float* A, int K, const float* Wt, const float* b, float w0, float* S,
                  float* C) {
  __m512 acc[M][4];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_loadu_ps(b + 16 * j);
  tile<M>(A, K, 1, Wt, K, acc);
  const __m512 w = _mm512_set1_ps(w0);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < 4; ++j) {
      __m512 s, c;
      vsincos(w0 == 1.0f ? acc[i][j] : _mm512_mul_ps(w, acc[i][j]), s, c);
      _mm512_storeu_ps(S + i * H + 16 * j, s);
      _mm512_storeu_ps(C + i * H + 16 * j, w0 == 1.0f ? c : _mm512_mul_ps(w, c));
    }
}

// backward through a layer of M rows: G = C_prev * (GZ W), its column sums added to gb
template <int M>
void backward_rows(const float* GZ, const float* W, const float* Cprev, float* G, float* gb) {
  __m512 acc[M][4];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_setzero_ps();
  tile<M>(GZ, H, 1, W, H, acc);
  for (int j = 0; j < 4; ++j) {
    __m512 sum = _mm512_loadu_ps(gb + 16 * j);
    for (int i = 0; i < M; ++i) {
      const __m512 g = _mm512_mul_ps(acc[i][j], _mm512_loadu_ps(Cprev + i * H + 16 * j));
      _mm512_storeu_ps(G + i * H + 16 * j, g);
      sum = _mm512_add_ps(sum, g);
    }
    _mm512_storeu_ps(gb + 16 * j, sum);
  }
}

// out[i][:] += sum_r A[i*si + r*sk] * B[r][:]: M rows of a weight gradient, summed over R rows
template <int M>
void reduce_rows(const float* A, long si, long sk, const float* B, int R, float* out) {
  __m512 acc[M][4];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_setzero_ps();
  tile<M>(A, si, sk, B, R, acc);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < 4; ++j)
      _mm512_storeu_ps(out + i * H + 16 * j,
                       _mm512_add_ps(_mm512_loadu_ps(out + i * H + 16 * j), acc[i][j]));
}

constexpr int MR = 6;  // rows a tile: 24 accumulators, 4 B vectors, a broadcast

// fn<MR> over R rows, `advance` moving the pointers on by a tile, then the last R % MR rows
#define INNR_ROWS(fn, advance, ...)                                      \
  {                                                                      \
    int r = 0;                                                           \
    for (; r + MR <= R; r += MR) fn<MR>(__VA_ARGS__), advance(MR);       \
    switch (R - r) {                                                     \
      case 5: fn<5>(__VA_ARGS__); break;                                 \
      case 4: fn<4>(__VA_ARGS__); break;                                 \
      case 3: fn<3>(__VA_ARGS__); break;                                 \
      case 2: fn<2>(__VA_ARGS__); break;                                 \
      case 1: fn<1>(__VA_ARGS__); break;                                 \
    }                                                                    \
  }
}  // namespace

// rows_total rows of x [rows, in0], t and mask [rows]; params and grads flat, in the order of
// innr.perf.step.SirenStep.params; w0s one per sine layer; block: rows per pass (buffers for
// 2 * layers + 2 arrays of block x 64 floats); layers <= 64. Returns 0, or 1 when out of memory.
extern "C" int siren_chunk(int rows_total, int in0, int layers, const float* x, const float* t,
                            const float* mask, const float* params, const float* w0s,
                            float two_over_n, int block, float* grads, float* loss_out) {
  // parameter layout (innr.perf.step.SirenStep.params): weights, biases, last weight, last bias
  const float* Wp[64]; const float* bp[64]; float* gW[64]; float* gbp[64];
  long off = 0;
  for (int l = 0; l < layers; ++l) {
    Wp[l] = params + off; gW[l] = grads + off; off += (long)H * (l == 0 ? in0 : H);
  }
  for (int l = 0; l < layers; ++l) { bp[l] = params + off; gbp[l] = grads + off; off += H; }
  const float* lw = params + off; float* glw = grads + off; off += H;
  const float lb = params[off]; float* glb = grads + off; off += 1;
  std::memset(grads, 0, sizeof(float) * off);
  // sizes are multiples of 64 bytes, as aligned_alloc wants
  const size_t act = (size_t)block * H;
  float* Wt = (float*)std::aligned_alloc(64, sizeof(float) * (H * in0 + (layers - 1) * H * H));
  float* buf = (float*)std::aligned_alloc(64, sizeof(float) * (2 * layers + 2) * act);
  float* gw0t = (float*)std::aligned_alloc(64, sizeof(float) * in0 * H);
  if (!Wt || !buf || !gw0t) {
    std::free(Wt); std::free(buf); std::free(gw0t);
    return 1;
  }
  // transposed weights for the forward: Wt[k][o] = W[o][k]
  float* Wtp[64];
  for (long l = 0, o2 = 0; l < layers; ++l) {
    const int K = l == 0 ? in0 : H;
    Wtp[l] = Wt + o2;
    for (int o = 0; o < H; ++o)
      for (int k = 0; k < K; ++k) Wt[o2 + k * H + o] = Wp[l][o * K + k];
    o2 += (long)H * K;
  }
  float* S = buf; float* C = buf + layers * act; float* G0 = C + layers * act; float* G1 = G0 + act;
  std::memset(gw0t, 0, sizeof(float) * in0 * H);
  float loss = 0.0f, glb_sum = 0.0f;
  for (int start = 0; start < rows_total; start += block) {
    const int R = rows_total - start < block ? rows_total - start : block;
    const float* xb = x + (long)start * in0;
    // forward
    for (int l = 0; l < layers; ++l) {
      const int K = l == 0 ? in0 : H;
      const float* A = l == 0 ? xb : S + (l - 1) * act;
      float* Sl = S + l * act; float* Cl = C + l * act;
      const float* Wl = Wtp[l]; const float* bl = bp[l]; const float w0 = w0s[l];
#define ADV(m) (A += (long)(m) * K, Sl += (m) * H, Cl += (m) * H)
      INNR_ROWS(forward_rows, ADV, A, K, Wl, bl, w0, Sl, Cl)
#undef ADV
    }
    // output, residual, loss; the last hidden layer's GZ = C * (r lw)
    const float* Sh = S + (layers - 1) * act; const float* Ch = C + (layers - 1) * act;
    float* GZ = G0;
    __m512 gl[4], gbl[4];
    for (int j = 0; j < 4; ++j) { gl[j] = _mm512_loadu_ps(glw + 16 * j); gbl[j] = _mm512_loadu_ps(gbp[layers - 1] + 16 * j); }
    for (int r = 0; r < R; ++r) {
      __m512 d = _mm512_setzero_ps();
      for (int j = 0; j < 4; ++j)
        d = _mm512_fmadd_ps(_mm512_loadu_ps(Sh + r * H + 16 * j), _mm512_loadu_ps(lw + 16 * j), d);
      const float res = (_mm512_reduce_add_ps(d) + lb - t[start + r]) * mask[start + r];
      loss += res * res;
      const float rr = res * two_over_n;
      glb_sum += rr;
      const __m512 rv = _mm512_set1_ps(rr);
      for (int j = 0; j < 4; ++j) {
        gl[j] = _mm512_fmadd_ps(rv, _mm512_loadu_ps(Sh + r * H + 16 * j), gl[j]);
        const __m512 g = _mm512_mul_ps(_mm512_mul_ps(rv, _mm512_loadu_ps(lw + 16 * j)),
                                       _mm512_loadu_ps(Ch + r * H + 16 * j));
        _mm512_storeu_ps(GZ + r * H + 16 * j, g);
        gbl[j] = _mm512_add_ps(gbl[j], g);
      }
    }
    for (int j = 0; j < 4; ++j) { _mm512_storeu_ps(glw + 16 * j, gl[j]); _mm512_storeu_ps(gbp[layers - 1] + 16 * j, gbl[j]); }
    // backward
    for (int l = layers - 1; l >= 0; --l) {
      float* out = gW[l];
      if (l > 0) {
        // gW[o][k] += sum_r GZ[r][o] S_prev[r][k]
        const float* P = S + (l - 1) * act;
        for (int o = 0; o < H; o += MR) {
          const int m = H - o < MR ? H - o : MR;
          const float* A = GZ + o;
          float* dst = out + o * H;
          switch (m) {
            case 6: reduce_rows<6>(A, 1, H, P, R, dst); break;
            case 4: reduce_rows<4>(A, 1, H, P, R, dst); break;
            default: for (int i = 0; i < m; ++i) reduce_rows<1>(A + i, 1, H, P, R, dst + i * H);
          }
        }
        float* Gn = GZ == G0 ? G1 : G0;
        const float* A = GZ; const float* Cp = C + (l - 1) * act; float* Go = Gn;
        const float* Wl = Wp[l]; float* gb = gbp[l - 1];
#define ADV(m) (A += (m) * H, Cp += (m) * H, Go += (m) * H)
        INNR_ROWS(backward_rows, ADV, A, Wl, Cp, Go, gb)
#undef ADV
        GZ = Gn;
      } else {
        // first layer: gW0^T[k][o] += sum_r x[r][k] GZ[r][o]
        for (int k = 0; k < in0; ++k) reduce_rows<1>(xb + k, 1, in0, GZ, R, gw0t + k * H);
      }
    }
  }
  for (int o = 0; o < H; ++o)
    for (int k = 0; k < in0; ++k) gW[0][o * in0 + k] = gw0t[k * H + o];
  *glb = glb_sum;
  *loss_out = loss;
  std::free(gw0t); std::free(buf); std::free(Wt);
  return 0;
}

// The wasm backend's loop kernels in WebAssembly SIMD. This module imports tfjs-backend-wasm's own
// memory, so every pointer below is a tensor's offset in that heap and nothing is copied. It must
// keep no state of its own in that memory: no static data and no shadow stack (build-wasm.mjs
// refuses a module that has either), or it would overwrite the backend's heap.
//
// Layout: NHWC maps and [N, C] rows, channels fastest; C is a multiple of 4 (the caller checks).

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline v128_t relu4(v128_t v) { return wasm_f32x4_max(v, wasm_f32x4_splat(0.0f)); }

// The two float64 lanes of v's low (hi = 0) or high (hi = 1) half.
static inline v128_t low2(v128_t v) { return wasm_f64x2_promote_low_f32x4(v); }
static inline v128_t high2(v128_t v) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)); }

// Per group of `cg` channels, the sum and sum of squares over `rows` rows of x + bias, in float64:
// the sum and each square are exact there, so the one-pass variance loses nothing to torch's
// two-pass float32 one. acc holds 4 doubles per group, two lanes of each sum: acc[4g..4g+1] the
// sum, acc[4g+2..4g+3] the squares; it is added to, not overwritten.
EXPORT(gn_stats)
void gn_stats(const float *x, int rows, int c, int cg, const float *bias, double *acc) {
  const int groups = c / cg;
  for (int r = 0; r < rows; r++) {
    const float *row = x + (long)r * c;
    for (int g = 0; g < groups; g++) {
      v128_t s = wasm_f64x2_splat(0.0);
      v128_t q = wasm_f64x2_splat(0.0);
      for (int j = g * cg; j < (g + 1) * cg; j += 4) {
        const v128_t v = wasm_v128_load(row + j);
        const v128_t b = wasm_v128_load(bias + j);
        const v128_t lo = wasm_f64x2_add(low2(v), low2(b));
        const v128_t hi = wasm_f64x2_add(high2(v), high2(b));
        s = wasm_f64x2_add(s, wasm_f64x2_add(lo, hi));
        q = wasm_f64x2_add(q, wasm_f64x2_add(wasm_f64x2_mul(lo, lo), wasm_f64x2_mul(hi, hi)));
      }
      double *a = acc + 4 * g;
      wasm_v128_store(a, wasm_f64x2_add(wasm_v128_load(a), s));
      wasm_v128_store(a + 2, wasm_f64x2_add(wasm_v128_load(a + 2), q));
    }
  }
}

// ((x + offset) * scale + beta), then ReLU when relu != 0, then times rowScale[r] when rowScale is
// not null, all in float64 and rounded once (offset = bias - mean, per channel, float64 like scale
// and beta); rows [0, rows).
EXPORT(gn_affine)
void gn_affine(const float *x, int rows, int c, const double *offset, const double *scale, const double *beta, const float *rowScale, int relu, float *out) {
  const v128_t zero = wasm_f64x2_splat(0.0);
  for (int r = 0; r < rows; r++) {
    const float *in = x + (long)r * c;
    float *o = out + (long)r * c;
    const double f = rowScale ? rowScale[r] : 1.0;
    if (f == 0.0) {
      // a gate that is off: the product is 0 whatever the norm gives
      __builtin_memset(o, 0, (unsigned long)c * sizeof(float));
      continue;
    }
    const v128_t fv = wasm_f64x2_splat(f);
    for (int ch = 0; ch < c; ch += 4) {
      const v128_t v = wasm_v128_load(in + ch);
      v128_t lo = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_add(low2(v), wasm_v128_load(offset + ch)), wasm_v128_load(scale + ch)), wasm_v128_load(beta + ch));
      v128_t hi = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_add(high2(v), wasm_v128_load(offset + ch + 2)), wasm_v128_load(scale + ch + 2)), wasm_v128_load(beta + ch + 2));
      if (relu) {
        lo = wasm_f64x2_max(lo, zero);
        hi = wasm_f64x2_max(hi, zero);
      }
      const v128_t lo32 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(lo, fv));
      const v128_t hi32 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(hi, fv));
      wasm_v128_store(o + ch, wasm_i32x4_shuffle(lo32, hi32, 0, 1, 4, 5));
    }
  }
}

// The depth node's epilogue fused with the scatter: out = ReLU(input + gate * y) over the whole map
// of `total` floats, y being rows [n, c] at the flat pixels idx and 0 elsewhere.
EXPORT(gated_residual)
void gated_residual(const float *rows, const int *idx, int n, const float *gate, const float *input, int total, int c, float *out) {
  for (int i = 0; i < total; i += 4) wasm_v128_store(out + i, relu4(wasm_v128_load(input + i)));
  for (int r = 0; r < n; r++) {
    const long o = (long)idx[r] * c;
    const v128_t g = wasm_f32x4_splat(gate[idx[r]]);
    const float *y = rows + (long)r * c;
    for (int ch = 0; ch < c; ch += 4) {
      v128_t v = wasm_f32x4_add(wasm_v128_load(input + o + ch), wasm_f32x4_mul(g, wasm_v128_load(y + ch)));
      wasm_v128_store(out + o + ch, relu4(v));
    }
  }
}

// im2col of the active pixels: row i of out [n, k*k*c] is the k x k x c neighbourhood of flat pixel
// idx[i] (b*h*w + y*w + x) of the map x [b, h, w, c], zero outside the image.
EXPORT(im2col_rows)
void im2col_rows(const float *x, const int *idx, int n, int h, int w, int c, int k, float *out) {
  const int p = (k - 1) / 2;
  const long plane = (long)h * w;
  const unsigned long rowBytes = (unsigned long)c * sizeof(float);
  for (int i = 0; i < n; i++) {
    const long f = idx[i];
    const long b = f / plane;
    const long pix = f - b * plane;
    const int y = (int)(pix / w);
    const int xx = (int)(pix - (long)y * w);
    float *o = out + (long)i * k * k * c;
    for (int dy = -p; dy <= p; dy++, o += (long)k * c) {
      const int yy = y + dy;
      if (yy < 0 || yy >= h) {
        __builtin_memset(o, 0, rowBytes * k);
        continue;
      }
      const int x0 = xx - p < 0 ? 0 : xx - p;
      const int x1 = xx + p > w - 1 ? w - 1 : xx + p;
      const int before = x0 - (xx - p);
      const int after = xx + p - x1;
      if (before > 0) __builtin_memset(o, 0, rowBytes * before);
      __builtin_memcpy(o + (long)before * c, x + ((b * h + yy) * w + x0) * c, rowBytes * (x1 - x0 + 1));
      if (after > 0) __builtin_memset(o + (long)(k - after) * c, 0, rowBytes * after);
    }
  }
}

// out [total floats] = 0, then rows [n, c] copied to the flat pixels idx.
EXPORT(scatter_rows)
void scatter_rows(const float *rows, const int *idx, int n, int c, int total, float *out) {
  __builtin_memset(out, 0, (unsigned long)total * sizeof(float));
  for (int r = 0; r < n; r++) __builtin_memcpy(out + (long)idx[r] * c, rows + (long)r * c, (unsigned long)c * sizeof(float));
}

// Bilinear sampling of one source map for an output of h x w pixels, precomputed per output row
// and column (align_corners or not is the caller's business): rowOff[2y], rowOff[2y+1] are the
// float offsets of the two source rows (row * width * c), rowFrac[y] the weight of the second;
// colOff[2x], colOff[2x+1], colFrac[x] the same for columns (col * c).
typedef struct {
  const float *data;
  int plane; // floats per image
  const int *rowOff;
  const float *rowFrac;
  const int *colOff;
  const float *colFrac;
} Source;

static inline v128_t sample(const Source *s, const float *img, int y, int x, int ch) {
  const float *r0 = img + s->rowOff[2 * y];
  const float *r1 = img + s->rowOff[2 * y + 1];
  const int c0 = s->colOff[2 * x] + ch;
  const int c1 = s->colOff[2 * x + 1] + ch;
  const v128_t cf = wasm_f32x4_splat(s->colFrac[x]);
  const v128_t rf = wasm_f32x4_splat(s->rowFrac[y]);
  const v128_t tl = wasm_v128_load(r0 + c0), tr = wasm_v128_load(r0 + c1);
  const v128_t bl = wasm_v128_load(r1 + c0), br = wasm_v128_load(r1 + c1);
  // tfjs's order of operations: top, bottom, then between them
  const v128_t top = wasm_f32x4_add(tl, wasm_f32x4_mul(wasm_f32x4_sub(tr, tl), cf));
  const v128_t bottom = wasm_f32x4_add(bl, wasm_f32x4_mul(wasm_f32x4_sub(br, bl), cf));
  return wasm_f32x4_add(top, wasm_f32x4_mul(wasm_f32x4_sub(bottom, top), rf));
}

// A scale node's input to its depth node in one pass: out = (a' + b') * sw + x * xw, where a' and
// b' are the sources resized to x's h x w (b may be absent: b.data == 0), sw and xw scalars.
// Replaces a resize per source, an add and two multiplies, each a pass over the whole map.
EXPORT(blend_resized)
void blend_resized(const float *x, int batch, int h, int w, int c, const float *xw, const float *sw, const Source *a, const Source *b, float *out) {
  const v128_t xs = wasm_f32x4_splat(*xw);
  const v128_t ss = wasm_f32x4_splat(*sw);
  for (int n = 0; n < batch; n++) {
    const float *ai = a->data + (long)n * a->plane;
    const float *bi = b->data ? b->data + (long)n * b->plane : 0;
    for (int y = 0; y < h; y++) {
      for (int xx = 0; xx < w; xx++) {
        const long o = (((long)n * h + y) * w + xx) * c;
        for (int ch = 0; ch < c; ch += 4) {
          v128_t sum = sample(a, ai, y, xx, ch);
          if (bi) sum = wasm_f32x4_add(sum, sample(b, bi, y, xx, ch));
          const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(sum, ss), wasm_f32x4_mul(wasm_v128_load(x + o + ch), xs));
          wasm_v128_store(out + o + ch, v);
        }
      }
    }
  }
}

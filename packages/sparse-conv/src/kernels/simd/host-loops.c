// The wasm backend's loop kernels in WebAssembly SIMD. This module imports tfjs-backend-wasm's own
// memory, so every pointer below is a tensor's offset in that heap and nothing is copied. It must
// keep no state of its own in that memory: no static data and no shadow stack (build-wasm.mjs
// refuses a module that has either), or it would overwrite the backend's heap.
//
// Layout: NHWC maps and [N, C] rows, channels fastest; C is a multiple of 4 (the caller checks).

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// ReLU as (v + |v|) / 2, as the JavaScript loops do: exact, +0 for v <= 0, NaN kept, and cheaper
// than f32x4.max, whose NaN and -0 rules cost V8 several instructions per use.
static inline v128_t relu4(v128_t v) { return wasm_f32x4_mul(wasm_f32x4_add(v, wasm_f32x4_abs(v)), wasm_f32x4_splat(0.5f)); }

// Per group of `cg` channels, the sum and sum of squares over `rows` rows of x + bias: each value
// rounded to float32 once, then summed in float64 (each square is exact there, so the one-pass
// variance loses nothing to torch's two-pass one). acc holds 4 doubles per group, two lanes of each
// sum: acc[4g..4g+1] the sum, acc[4g+2..4g+3] the squares; it is added to, not overwritten.
EXPORT(gn_stats)
void gn_stats(const float *x, int rows, int c, int cg, const float *bias, double *acc) {
  const int groups = c / cg;
  for (int r = 0; r < rows; r++) {
    const float *row = x + (long)r * c;
    for (int g = 0; g < groups; g++) {
      v128_t s = wasm_f64x2_splat(0.0);
      v128_t q = wasm_f64x2_splat(0.0);
      for (int j = g * cg; j < (g + 1) * cg; j += 4) {
        const v128_t v = wasm_f32x4_add(wasm_v128_load(row + j), wasm_v128_load(bias + j));
        const v128_t lo = wasm_f64x2_promote_low_f32x4(v);
        const v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
        s = wasm_f64x2_add(s, wasm_f64x2_add(lo, hi));
        q = wasm_f64x2_add(q, wasm_f64x2_add(wasm_f64x2_mul(lo, lo), wasm_f64x2_mul(hi, hi)));
      }
      double *a = acc + 4 * g;
      wasm_v128_store(a, wasm_f64x2_add(wasm_v128_load(a), s));
      wasm_v128_store(a + 2, wasm_f64x2_add(wasm_v128_load(a + 2), q));
    }
  }
}

// out = ((x - mean) + shift) * scale + beta per channel, then ReLU when relu != 0, then times
// rowScale[r] when rowScale is not null; rows [0, rows). mean is the group mean rounded to float32
// and shift = bias - (the rest of the mean): x - mean is then exact wherever x is near the mean,
// so the centred value keeps its digits even when the mean is far from zero.
EXPORT(gn_affine)
void gn_affine(const float *x, int rows, int c, const float *mean, const float *shift, const float *scale, const float *beta, const float *rowScale, int relu, float *out) {
  for (int r = 0; r < rows; r++) {
    const float *in = x + (long)r * c;
    float *o = out + (long)r * c;
    const float f = rowScale ? rowScale[r] : 1.0f;
    if (f == 0.0f) {
      // a gate that is off: the product is 0 whatever the norm gives
      __builtin_memset(o, 0, (unsigned long)c * sizeof(float));
      continue;
    }
    // ReLU folded into the factor: max(y, 0) * f = (y + |y|) * (f / 2)
    const v128_t fv = wasm_f32x4_splat(relu ? f * 0.5f : f);
    for (int ch = 0; ch < c; ch += 4) {
      v128_t y = wasm_f32x4_add(wasm_f32x4_sub(wasm_v128_load(in + ch), wasm_v128_load(mean + ch)), wasm_v128_load(shift + ch));
      y = wasm_f32x4_add(wasm_f32x4_mul(y, wasm_v128_load(scale + ch)), wasm_v128_load(beta + ch));
      if (relu) y = wasm_f32x4_add(y, wasm_f32x4_abs(y));
      wasm_v128_store(o + ch, wasm_f32x4_mul(y, fv));
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

// Image b, row y and column x of flat pixel f (b * plane + y * w + x).
static inline void pixel_at(long f, long plane, int w, long *b, int *y, int *x) {
  *b = f / plane;
  const long pix = f - *b * plane;
  *y = (int)(pix / w);
  *x = (int)(pix - (long)*y * w);
}

// im2col of the active pixels: row i of out [n, k*k*c] is the k x k x c neighbourhood of flat pixel
// idx[i] (b*h*w + y*w + x) of the map x [b, h, w, c], zero outside the image.
EXPORT(im2col_rows)
void im2col_rows(const float *x, const int *idx, int n, int h, int w, int c, int k, float *out) {
  const int p = (k - 1) / 2;
  const long plane = (long)h * w;
  const unsigned long rowBytes = (unsigned long)c * sizeof(float);
  for (int i = 0; i < n; i++) {
    long b;
    int y, xx;
    pixel_at(idx[i], plane, w, &b, &y, &xx);
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

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

// zp[t] = px . f[t] for the nine taps t of a [3, 3, c] filter f (one pixel's share of a 3x3 conv
// to one channel; tap_sum adds the shares up). px is read once, from wherever it is: the caller's
// map, or a row it has just written (still in L1).
static inline void taps9(const float *px, int c, const float *f, float *zp) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
  for (int ch = 0; ch < c; ch += 4) {
    const v128_t v = wasm_v128_load(px + ch);
    const float *fc = f + ch;
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(v, wasm_v128_load(fc)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(v, wasm_v128_load(fc + c)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(v, wasm_v128_load(fc + 2 * c)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(v, wasm_v128_load(fc + 3 * c)));
    a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(v, wasm_v128_load(fc + 4 * c)));
    a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(v, wasm_v128_load(fc + 5 * c)));
    a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(v, wasm_v128_load(fc + 6 * c)));
    a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(v, wasm_v128_load(fc + 7 * c)));
    a8 = wasm_f32x4_add(a8, wasm_f32x4_mul(v, wasm_v128_load(fc + 8 * c)));
  }
  zp[0] = hsum(a0); zp[1] = hsum(a1); zp[2] = hsum(a2);
  zp[3] = hsum(a3); zp[4] = hsum(a4); zp[5] = hsum(a5);
  zp[6] = hsum(a6); zp[7] = hsum(a7); zp[8] = hsum(a8);
}

// out[p] = the sum over taps t of z at p's t-th neighbour (zero outside the h x w image): the
// 'same' 3x3 conv from the per-pixel shares of taps9.
static void tap_sum(const float *z, int h, int w, float *out) {
  for (int y = 0; y < h; y++) {
    for (int xx = 0; xx < w; xx++) {
      float s = 0.0f;
      for (int dy = -1; dy <= 1; dy++) {
        const int yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (int dx = -1; dx <= 1; dx++) {
          const int xi = xx + dx;
          if (xi < 0 || xi >= w) continue;
          s += z[((long)yy * w + xi) * 9 + (dy + 1) * 3 + (dx + 1)];
        }
      }
      out[y * w + xx] = s;
    }
  }
}

// k 'same' 3x3 convs from c channels to one (spatial gates), no bias: outs[j] [batch, h, w].
// Nine dot products per pixel and filter from one read of the pixel (an XNNPACK matMul to 9 columns
// costs twice one to 8), then the tap sum. filter is [k, 9, c] (tfjs's [3, 3, c, 1] filters one
// after the other); z is scratch of k * h * w * 9 floats. The filters of one pixel share its read of
// x (it stays in L1), so two gates on the same input cost one pass over the map.
EXPORT(conv3x3_few)
void conv3x3_few(const float *x, int batch, int h, int w, int c, int k, const float *filter, float *z, float *const *outs) {
  const int plane = h * w;
  for (int n = 0; n < batch; n++) {
    const float *img = x + (long)n * plane * c;
    for (int p = 0; p < plane; p++) {
      for (int j = 0; j < k; j++) taps9(img + (long)p * c, c, filter + (long)j * 9 * c, z + ((long)j * plane + p) * 9);
    }
    for (int j = 0; j < k; j++) tap_sum(z + (long)j * plane * 9, h, w, outs[j] + (long)n * plane);
  }
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
// Replaces a resize per source, an add and two multiplies, each a pass over the whole map. With
// k > 0, also the k 'same' 3x3 convs to one channel of out (conv3x3_few's filters, z, outs: the
// depth node's gate), each pixel's taps taken from the row just written, still in L1.
EXPORT(blend_resized)
void blend_resized(const float *x, int batch, int h, int w, int c, const float *xw, const float *sw, const Source *a, const Source *b, float *out, int k, const float *filter, float *z, float *const *outs) {
  const int plane = h * w;
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
        for (int j = 0; j < k; j++) taps9(out + o, c, filter + (long)j * 9 * c, z + ((long)j * plane + y * w + xx) * 9);
      }
    }
    for (int j = 0; j < k; j++) tap_sum(z + (long)j * plane * 9, h, w, outs[j] + (long)n * plane);
  }
}

// One output chunk (4 channels at ch) of a depthwise 3x3 conv at a border pixel: bias + the taps
// inside the image (zero padding).
static inline v128_t dw_border(const float *img, int y, int x, int h, int w, const float *f, int c, v128_t bias, int ch) {
  v128_t acc = bias;
  for (int dy = -1; dy <= 1; dy++) {
    const int yy = y + dy;
    if (yy < 0 || yy >= h) continue;
    for (int dx = -1; dx <= 1; dx++) {
      const int xx = x + dx;
      if (xx < 0 || xx >= w) continue;
      const v128_t v = wasm_v128_load(img + ((long)yy * w + xx) * c + ch);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(v, wasm_v128_load(f + ((dy + 1) * 3 + dx + 1) * c + ch)));
    }
  }
  return acc;
}

// Adds v's sum and sum of squares (float64, lanes paired) to s and q.
static inline void stats4(v128_t v, v128_t *s, v128_t *q) {
  const v128_t lo = wasm_f64x2_promote_low_f32x4(v);
  const v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  *s = wasm_f64x2_add(*s, wasm_f64x2_add(lo, hi));
  *q = wasm_f64x2_add(*q, wasm_f64x2_add(wasm_f64x2_mul(lo, lo), wasm_f64x2_mul(hi, hi)));
}

// Interior pixels per strip of dw3x3_stats: the strip's three input rows (16 pixels x c floats
// each) stay in cache while its channel chunks are swept one by one. A whole row would not: its
// pixels are c floats apart, a power of two, so they share few cache sets.
#define STRIP 16

// The GroupNorm statistics of k depthwise 'same' 3x3 convs (+ bias) of one image x [h, w, c]:
// the sum and sum of squares of every 4-channel chunk of each conv output are added to
// acc[(j * c / 4 + chunk) * 4 ..] (two doubles each, lanes paired; the caller sums a group's
// chunks), from one read of x (the scale node's two paths share their input). The outputs are
// also written to outs[j] when outs is not null; dw3x3_gated otherwise recomputes them where their
// gate is on, which moves less memory than writing and re-reading whole maps. Channel chunk by
// chunk along strips of a row, so that the chunk's nine filter taps stay in registers. filters: k
// filters of [3, 3, c] one after the other; biases: k vectors of c.
EXPORT(dw3x3_stats)
void dw3x3_stats(const float *x, int h, int w, int c, int k, const float *filters, const float *biases, float *const *outs, double *acc) {
  const long rowStride = (long)w * c;
  for (int y = 0; y < h; y++) {
    const int interiorRow = y > 0 && y < h - 1 && w >= 3;
    const float *row = x + y * rowStride;
    // pixels [x0, x1) of this pass: the whole row on border rows, else the two edge pixels, then strips
    for (int x0 = 0; x0 < w;) {
      const int edges = !interiorRow;
      const int x1 = edges ? w : (x0 == 0 ? 1 : (x0 >= w - 1 ? w : (x0 + STRIP < w - 1 ? x0 + STRIP : w - 1)));
      const int border = edges || x0 == 0 || x0 == w - 1;
      for (int j = 0; j < k; j++) {
        const float *f = filters + (long)j * 9 * c;
        float *orow = outs ? outs[j] + y * rowStride : 0;
        for (int ch = 0; ch < c; ch += 4) {
          const v128_t bias = wasm_v128_load(biases + (long)j * c + ch);
          v128_t s = wasm_f64x2_splat(0.0), q = s;
          if (border) {
            for (int xx = x0; xx < x1; xx++) {
              const v128_t v = dw_border(x, y, xx, h, w, f, c, bias, ch);
              if (orow) wasm_v128_store(orow + (long)xx * c + ch, v);
              stats4(v, &s, &q);
            }
          } else {
            const v128_t f0 = wasm_v128_load(f + ch), f1 = wasm_v128_load(f + c + ch), f2 = wasm_v128_load(f + 2 * c + ch);
            const v128_t f3 = wasm_v128_load(f + 3 * c + ch), f4 = wasm_v128_load(f + 4 * c + ch), f5 = wasm_v128_load(f + 5 * c + ch);
            const v128_t f6 = wasm_v128_load(f + 6 * c + ch), f7 = wasm_v128_load(f + 7 * c + ch), f8 = wasm_v128_load(f + 8 * c + ch);
            for (int xx = x0; xx < x1; xx++) {
              const float *m = row + (long)xx * c + ch;
              const float *u = m - rowStride, *d = m + rowStride;
              v128_t v = bias;
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(u - c), f0));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(u), f1));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(u + c), f2));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(m - c), f3));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(m), f4));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(m + c), f5));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(d - c), f6));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(d), f7));
              v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(d + c), f8));
              if (orow) wasm_v128_store(orow + (long)xx * c + ch, v);
              stats4(v, &s, &q);
            }
          }
          double *a = acc + ((long)j * (c / 4) + ch / 4) * 4;
          wasm_v128_store(a, wasm_f64x2_add(wasm_v128_load(a), s));
          wasm_v128_store(a + 2, wasm_f64x2_add(wasm_v128_load(a + 2), q));
        }
      }
      x0 = x1;
    }
  }
}

// One depthwise path's output where its gate is on: out = (((dw(x) + bias) - mean) + shift) * scale
// + beta, times gate[p] (gn_affine's form; gate null: every pixel, times 1), and 0 where gate[p] is
// 0. x [h, w, c] is one image, filter [3, 3, c].
EXPORT(dw3x3_gated)
void dw3x3_gated(const float *x, int h, int w, int c, const float *filter, const float *bias, const float *mean, const float *shift, const float *scale, const float *beta, const float *gate, float *out) {
  for (int y = 0; y < h; y++) {
    for (int xx = 0; xx < w; xx++) {
      const long p = (long)y * w + xx;
      float *o = out + p * c;
      const float g = gate ? gate[p] : 1.0f;
      if (g == 0.0f) {
        __builtin_memset(o, 0, (unsigned long)c * sizeof(float));
        continue;
      }
      const v128_t gv = wasm_f32x4_splat(g);
      for (int ch = 0; ch < c; ch += 4) {
        v128_t v = dw_border(x, y, xx, h, w, filter, c, wasm_v128_load(bias + ch), ch);
        v = wasm_f32x4_add(wasm_f32x4_sub(v, wasm_v128_load(mean + ch)), wasm_v128_load(shift + ch));
        v = wasm_f32x4_add(wasm_f32x4_mul(v, wasm_v128_load(scale + ch)), wasm_v128_load(beta + ch));
        wasm_v128_store(o + ch, wasm_f32x4_mul(v, gv));
      }
    }
  }
}

// gated_residual over [batch, h, w, c] with idx sorted ascending, pixel by pixel, and with each
// output pixel's taps for k 'same' 3x3 convs to one channel taken as it is written (conv3x3_few's
// filters, z, outs): the next block's two path gates read this output.
EXPORT(gated_residual_taps)
void gated_residual_taps(const float *rows, const int *idx, int n, const float *gate, const float *input, int batch, int h, int w, int c, float *out, int k, const float *filter, float *z, float *const *outs) {
  const int plane = h * w;
  int r = 0;
  for (int b = 0; b < batch; b++) {
    for (int p = 0; p < plane; p++) {
      const long pix = (long)b * plane + p;
      const long o = pix * c;
      if (r < n && idx[r] == pix) {
        const v128_t g = wasm_f32x4_splat(gate[pix]);
        const float *y = rows + (long)r * c;
        for (int ch = 0; ch < c; ch += 4) {
          v128_t v = wasm_f32x4_add(wasm_v128_load(input + o + ch), wasm_f32x4_mul(g, wasm_v128_load(y + ch)));
          wasm_v128_store(out + o + ch, relu4(v));
        }
        r++;
      } else {
        for (int ch = 0; ch < c; ch += 4) wasm_v128_store(out + o + ch, relu4(wasm_v128_load(input + o + ch)));
      }
      for (int j = 0; j < k; j++) taps9(out + o, c, filter + (long)j * 9 * c, z + ((long)j * plane + p) * 9);
    }
    for (int j = 0; j < k; j++) tap_sum(z + (long)j * plane * 9, h, w, outs[j] + (long)b * plane);
  }
}

// im2col_rows for a map given as rows: the map is zero except at the pixels p with rowOf[p] >= 0,
// which hold rows[rowOf[p]] (the output of a sparse conv, before its scatter). Reads the rows
// directly, so the map need never be written out.
EXPORT(im2col_from_rows)
void im2col_from_rows(const float *rows, const int *rowOf, const int *idx, int n, int h, int w, int c, int k, float *out) {
  const int p = (k - 1) / 2;
  const long plane = (long)h * w;
  const unsigned long rowBytes = (unsigned long)c * sizeof(float);
  for (int i = 0; i < n; i++) {
    long b;
    int y, xx;
    pixel_at(idx[i], plane, w, &b, &y, &xx);
    float *o = out + (long)i * k * k * c;
    for (int dy = -p; dy <= p; dy++) {
      for (int dx = -p; dx <= p; dx++, o += c) {
        const int yy = y + dy, xi = xx + dx;
        const int r = (yy < 0 || yy >= h || xi < 0 || xi >= w) ? -1 : rowOf[b * plane + (long)yy * w + xi];
        if (r < 0) __builtin_memset(o, 0, rowBytes);
        else __builtin_memcpy(o, rows + (long)r * c, rowBytes);
      }
    }
  }
}

// Plain loops over active pixels shared by the cpu and wasm kernels (both hand us TypedArrays).

/** Geometry of a 'same', stride-1, k x k window over an NHWC map. */
export interface Window {
  height: number;
  width: number;
  channels: number;
  kernel: number;
}

/**
 * im2col of the active pixels only: row i of `out` ([N, k*k*C]) holds the k x k x C neighbourhood
 * of flat pixel indices[i] (b*H*W + y*W + x), zero outside the image. Cost: N*k*k*C copies.
 */
export function im2colRows(x: Float32Array, indices: Int32Array, win: Window, out: Float32Array): void {
  const { height: h, width: w, channels: c, kernel: k } = win;
  const p = (k - 1) / 2;
  const plane = h * w;
  const rowLen = k * k * c;
  for (let i = 0; i < indices.length; i++) {
    const f = indices[i];
    const b = (f / plane) | 0;
    const pix = f - b * plane;
    const y = (pix / w) | 0;
    const xx = pix - y * w;
    let o = i * rowLen;
    for (let dy = -p; dy <= p; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) {
        out.fill(0, o, o + k * c);
        o += k * c;
        continue;
      }
      // the run of in-image taps along x is contiguous in both x and the row: copy it in one go
      const x0 = Math.max(0, xx - p);
      const x1 = Math.min(w - 1, xx + p);
      const before = (x0 - (xx - p)) * c;
      const after = (xx + p - x1) * c;
      if (before > 0) out.fill(0, o, o + before);
      o += before;
      const src = ((b * h + yy) * w + x0) * c;
      const len = (x1 - x0 + 1) * c;
      out.set(x.subarray(src, src + len), o);
      o += len;
      if (after > 0) out.fill(0, o, o + after);
      o += after;
    }
  }
}

/** Depthwise k x k conv at the active pixels: out [N, C]; filter [k, k, C] flattened. */
export function depthwiseRows(x: Float32Array, indices: Int32Array, filter: Float32Array, win: Window, out: Float32Array): void {
  const { height: h, width: w, channels: c, kernel: k } = win;
  const p = (k - 1) / 2;
  const plane = h * w;
  for (let i = 0; i < indices.length; i++) {
    const f = indices[i];
    const b = (f / plane) | 0;
    const pix = f - b * plane;
    const y = (pix / w) | 0;
    const xx = pix - y * w;
    const o = i * c;
    for (let dy = -p; dy <= p; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -p; dx <= p; dx++) {
        const xi = xx + dx;
        if (xi < 0 || xi >= w) continue;
        const src = ((b * h + yy) * w + xi) * c;
        const wo = ((dy + p) * k + (dx + p)) * c;
        for (let ch = 0; ch < c; ch++) out[o + ch] += x[src + ch] * filter[wo + ch];
      }
    }
  }
}

/** Scatter rows [N, C] into a zeroed [B*H*W, C] buffer at pixel indices. */
export function scatterRowsInto(rows: Float32Array, indices: Int32Array, c: number, out: Float32Array): void {
  for (let i = 0; i < indices.length; i++) out.set(rows.subarray(i * c, (i + 1) * c), indices[i] * c);
}

/**
 * The depth node's epilogue fused with the scatter: `out = ReLU(input + gate * y)` over the whole
 * [B,H,W,C] map, y being `rows` at the flat pixel `indices` and 0 elsewhere (so ReLU(input) there).
 * One pass over the map (then the active pixels again) instead of four passes (scatter, multiply,
 * add, ReLU). ReLU as (v + |v|) / 2:
 * exact, and branch-free, which V8 runs ~4x faster than a data-dependent branch.
 */
export function gatedResidualRows(rows: Float32Array, indices: Int32Array, gate: Float32Array, input: Float32Array, c: number, out: Float32Array): void {
  for (let i = 0; i < input.length; i++) {
    const v = input[i];
    out[i] = (v + Math.abs(v)) * 0.5;
  }
  for (let r = 0; r < indices.length; r++) {
    const o = indices[r] * c;
    const g = gate[indices[r]];
    for (let ch = 0, s = r * c; ch < c; ch++, s++) {
      const v = input[o + ch] + g * rows[s];
      out[o + ch] = (v + Math.abs(v)) * 0.5;
    }
  }
}

/** Pixels convolved together, so each weight row read from memory serves this many pixels. */
const PIXEL_BLOCK = 8;

/**
 * acc[slot[q] + co] += val[q] * filter[wo + co] for the n (pixel, input value) pairs of one tap and
 * input channel, four pixels per pass over the weight row: each weight is loaded once for four
 * products, which doubles the throughput of the one-pixel loop (V8 emits scalar code). Every
 * accumulator still receives its terms in tap, channel order.
 */
export function accumulateRows(acc: Float64Array, slot: Int32Array, val: Float64Array, n: number, filter: Float32Array, wo: number, cout: number): void {
  let q = 0;
  for (; q + 4 <= n; q += 4) {
    const o0 = slot[q];
    const o1 = slot[q + 1];
    const o2 = slot[q + 2];
    const o3 = slot[q + 3];
    const v0 = val[q];
    const v1 = val[q + 1];
    const v2 = val[q + 2];
    const v3 = val[q + 3];
    for (let co = 0; co < cout; co++) {
      const wv = filter[wo + co];
      acc[o0 + co] += v0 * wv;
      acc[o1 + co] += v1 * wv;
      acc[o2 + co] += v2 * wv;
      acc[o3 + co] += v3 * wv;
    }
  }
  for (; q + 2 <= n; q += 2) {
    const o0 = slot[q];
    const o1 = slot[q + 1];
    const v0 = val[q];
    const v1 = val[q + 1];
    for (let co = 0; co < cout; co++) {
      const wv = filter[wo + co];
      acc[o0 + co] += v0 * wv;
      acc[o1 + co] += v1 * wv;
    }
  }
  if (q < n) {
    const o0 = slot[q];
    const v0 = val[q];
    for (let co = 0; co < cout; co++) acc[o0 + co] += v0 * filter[wo + co];
  }
}

/**
 * Regular k x k conv at the active pixels: out [N, Cout], filter [k, k, Cin, Cout] flattened.
 * Pixels go in blocks of PIXEL_BLOCK whose float64 accumulators stay in L1; each output is its
 * exact sum rounded once (as the cpu Conv2D of @dynhead/runtime). Zero inputs are skipped.
 */
export function convRows(x: Float32Array, indices: Int32Array, filter: Float32Array, win: Window, cout: number, out: Float32Array): void {
  const { height: h, width: w, channels: cin, kernel: k } = win;
  const p = (k - 1) / 2;
  const plane = h * w;
  const src = new Int32Array(PIXEL_BLOCK);
  const slot = new Int32Array(PIXEL_BLOCK);
  const live = new Int32Array(PIXEL_BLOCK);
  const val = new Float64Array(PIXEL_BLOCK);
  const acc = new Float64Array(PIXEL_BLOCK * cout);
  for (let start = 0; start < indices.length; start += PIXEL_BLOCK) {
    const count = Math.min(PIXEL_BLOCK, indices.length - start);
    acc.fill(0);
    for (let dy = -p; dy <= p; dy++) {
      for (let dx = -p; dx <= p; dx++) {
        // the block's pixels whose tap (dy, dx) is inside the image
        let m = 0;
        for (let j = 0; j < count; j++) {
          const f = indices[start + j];
          const b = (f / plane) | 0;
          const pix = f - b * plane;
          const y = ((pix / w) | 0) + dy;
          const xx = pix - ((pix / w) | 0) * w + dx;
          if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
          src[m] = ((b * h + y) * w + xx) * cin;
          slot[m] = j * cout;
          m++;
        }
        const tap = ((dy + p) * k + (dx + p)) * cin;
        for (let ci = 0; ci < cin; ci++) {
          let n = 0;
          for (let j = 0; j < m; j++) {
            const v = x[src[j] + ci];
            if (v === 0) continue;
            live[n] = slot[j];
            val[n] = v;
            n++;
          }
          accumulateRows(acc, live, val, n, filter, (tap + ci) * cout, cout);
        }
      }
    }
    out.set(acc.subarray(0, count * cout), start * cout);
  }
}


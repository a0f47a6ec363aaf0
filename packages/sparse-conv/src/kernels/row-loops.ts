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

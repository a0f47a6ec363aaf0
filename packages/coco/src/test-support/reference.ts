// float64 references of the image transforms (independent of tfjs).

/** Bilinear resize with half-pixel centres and edge clamping, HWC float64. */
export function bilinearResize(src: ArrayLike<number>, h: number, w: number, c: number, nh: number, nw: number): Float64Array {
  const out = new Float64Array(nh * nw * c);
  const sy = h / nh;
  const sx = w / nw;
  for (let y = 0; y < nh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < nw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      for (let k = 0; k < c; k++) {
        const v00 = src[(y0 * w + x0) * c + k];
        const v01 = src[(y0 * w + x1) * c + k];
        const v10 = src[(y1 * w + x0) * c + k];
        const v11 = src[(y1 * w + x1) * c + k];
        const top = v00 + (v01 - v00) * dx;
        const bottom = v10 + (v11 - v10) * dx;
        out[(y * nw + x) * c + k] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}

export function flipHwc(src: ArrayLike<number>, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = src[(y * w + (w - 1 - x)) * c + k];
  return out;
}

/** RGB -> (channel order) (x - mean) / std. */
export function normalizeHwc(src: ArrayLike<number>, n: number, bgr: boolean, mean: number[], std: number[]): Float64Array {
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < 3; k++) {
      const from = bgr ? 2 - k : k;
      out[i * 3 + k] = (src[i * 3 + from] - mean[k]) / std[k];
    }
  return out;
}

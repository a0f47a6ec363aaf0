// float64 references for the tests (not published).
export interface RefConv {
  x: Float64Array | number[];
  shape: [number, number, number, number];
  filter: number[];
  k: number;
  cout: number;
  depthwise?: boolean;
  bias?: number[];
}

/** 'same' conv, stride 1, in float64; output NHWC. */
export function refConv({ x, shape, filter, k, cout, depthwise, bias }: RefConv): Float64Array {
  const [b, h, w, cin] = shape;
  const co = depthwise ? cin : cout;
  const out = new Float64Array(b * h * w * co);
  const p = (k - 1) / 2;
  for (let n = 0; n < b; n++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let o = 0; o < co; o++) {
          let s = bias ? bias[o] : 0;
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const yy = y + i - p;
              const xi = xx + j - p;
              if (yy < 0 || yy >= h || xi < 0 || xi >= w) continue;
              const xb = ((n * h + yy) * w + xi) * cin;
              if (depthwise) s += x[xb + o] * filter[(i * k + j) * cin + o];
              else for (let c = 0; c < cin; c++) s += x[xb + c] * filter[((i * k + j) * cin + c) * cout + o];
            }
          out[((n * h + y) * w + xx) * co + o] = s;
        }
  return out;
}

/** GroupNorm in float64; statistics per image over the pixels where `mask` is 1 (all pixels without a mask). */
export function refGroupNorm(
  y: Float64Array,
  shape: [number, number, number, number],
  groups: number,
  gamma: number[],
  beta: number[],
  mask?: ArrayLike<number>,
  eps = 1e-5,
): Float64Array {
  const [b, h, w, c] = shape;
  const cg = c / groups;
  const out = new Float64Array(y.length);
  for (let n = 0; n < b; n++)
    for (let g = 0; g < groups; g++) {
      let s = 0;
      let cnt = 0;
      for (let p = 0; p < h * w; p++) {
        if (mask && mask[n * h * w + p] === 0) continue;
        for (let c2 = 0; c2 < cg; c2++) s += y[(n * h * w + p) * c + g * cg + c2];
        cnt += cg;
      }
      const mean = s / Math.max(cnt, 1);
      let v = 0;
      for (let p = 0; p < h * w; p++) {
        if (mask && mask[n * h * w + p] === 0) continue;
        for (let c2 = 0; c2 < cg; c2++) v += (y[(n * h * w + p) * c + g * cg + c2] - mean) ** 2;
      }
      v /= Math.max(cnt, 1);
      for (let p = 0; p < h * w; p++)
        for (let c2 = 0; c2 < cg; c2++) {
          const i = (n * h * w + p) * c + g * cg + c2;
          out[i] = ((y[i] - mean) / Math.sqrt(v + eps)) * gamma[g * cg + c2] + beta[g * cg + c2];
        }
    }
  return out;
}

/** Multiply each pixel's channels by mask (and apply ReLU first when asked). */
export function refPostMask(y: Float64Array, c: number, mask: ArrayLike<number>, relu: boolean): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const v = relu ? Math.max(0, y[i]) : y[i];
    out[i] = v * mask[Math.floor(i / c)];
  }
  return out;
}

/** A 0/1 mask with `active` ones chosen by `rand`, plus a forced pixel list. */
export function randomMask(size: number, density: number, rand: () => number): Float32Array {
  const m = new Float32Array(size);
  for (let i = 0; i < size; i++) m[i] = rand() < density ? 1 : 0;
  return m;
}

/** The 3x3 max-pool ('same', stride 1) of b planes of h x w values, as tf.maxPool gives it. */
export function refMaxPool3x3(values: ArrayLike<number>, b: number, h: number, w: number): number[] {
  return Array.from({ length: b * h * w }, (_, i) => {
    const base = Math.floor(i / (h * w)) * h * w;
    const y = Math.floor((i - base) / w);
    const x = (i - base) % w;
    let m = -Infinity;
    for (let yy = Math.max(y - 1, 0); yy <= Math.min(y + 1, h - 1); yy++) {
      for (let xx = Math.max(x - 1, 0); xx <= Math.min(x + 1, w - 1); xx++) m = Math.max(m, values[base + yy * w + xx]);
    }
    return m;
  });
}

/** Bilinear resize from the definition, float64: source coordinate i * (in - 1) / (out - 1) with align_corners. */
export function refResize(v: ArrayLike<number>, [b, h, w, c]: [number, number, number, number], oh: number, ow: number, alignCorners: boolean): Float64Array {
  const out = new Float64Array(b * oh * ow * c);
  const coord = (i: number, inSize: number, outSize: number) =>
    alignCorners ? (outSize > 1 ? (i * (inSize - 1)) / (outSize - 1) : 0) : (i * inSize) / outSize;
  for (let n = 0; n < b; n++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) {
        const sy = coord(y, h, oh);
        const sx = coord(x, w, ow);
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const y1 = Math.min(h - 1, y0 + 1);
        const x1 = Math.min(w - 1, x0 + 1);
        const fy = sy - y0;
        const fx = sx - x0;
        for (let ch = 0; ch < c; ch++) {
          const at = (yy: number, xx: number) => v[((n * h + yy) * w + xx) * c + ch];
          out[((n * oh + y) * ow + x) * c + ch] =
            (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        }
      }
  return out;
}

/**
 * The float64 blend of level l: x_l * ow + (finer path of l - 1 times its gate + coarser path of l +
 * 1 times its gate, each resized to l with align corners) * sw; path(s, l) is path s's normalised
 * map of level l, gates[s][l] its gate per pixel.
 */
export function refBlendLevel(l: number, r: { shapes: [number, number, number, number][]; xs: number[][]; path: (s: number, l: number) => ArrayLike<number>; gates: ArrayLike<number>[][]; ow: number; sw: number }): Float64Array {
  const [, h, w, c] = r.shapes[l];
  const gated = (s: number, from: number) => Array.from(r.path(s, from), (v, i) => v * r.gates[s][from][Math.floor(i / c)]);
  const zero = new Float64Array(r.xs[l].length);
  const fromFiner = l > 0 ? refResize(gated(0, l - 1), r.shapes[l - 1], h, w, true) : zero;
  const fromCoarser = l < r.shapes.length - 1 ? refResize(gated(1, l + 1), r.shapes[l + 1], h, w, true) : zero;
  return fromFiner.map((v, i) => (v + fromCoarser[i]) * r.sw + r.xs[l][i] * r.ow);
}

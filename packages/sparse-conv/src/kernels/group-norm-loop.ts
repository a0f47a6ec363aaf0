// GroupNorm as plain loops, shared by the cpu and wasm kernels. tfjs's moments-based GroupNorm
// transposes the map and makes ~10 passes over it (92 ms for one 100x167x256 map on wasm, about a
// seventh of a 256->256 conv there); this makes two (~11 ms).

export interface GroupNormLoopArgs {
  /** Rows of each image, in order (they sum to the number of rows). */
  counts: number[];
  channels: number;
  groups: number;
  eps: number;
  gamma: Float32Array;
  beta: Float32Array;
  /** Added per channel before the statistics (a conv's bias), or null. */
  bias: Float32Array | null;
  relu: boolean;
  /** One factor per row multiplying the result (a gated path: the gate of each pixel), or null. */
  rowScale: Float32Array | null;
}

/**
 * `out = GN(x + bias)` (then ReLU, then times rowScale) over rows [N, C], statistics per image and group from that
 * image's rows only. Sums are kept in float64, so the one-pass variance loses nothing against
 * torch's float32 two-pass one. Loops keep one running index (V8 then drops the bounds checks: ~2.5x
 * faster than recomputing row * C + ch), and ReLU is branch-free ((y + |y|) / 2, exact, +0 for
 * y <= 0): ~4x faster than a data-dependent branch on signs that look random.
 */
export function groupNormLoop(x: Float32Array, args: GroupNormLoopArgs, out: Float32Array): void {
  const { counts, channels: c, groups, eps, gamma, beta, bias, relu, rowScale } = args;
  const cg = c / groups;
  const sum = new Float64Array(groups);
  const sumSq = new Float64Array(groups);
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  const added = bias ?? new Float32Array(c);
  let start = 0;
  for (const rows of counts) {
    const end = start + rows * c;
    sum.fill(0);
    sumSq.fill(0);
    for (let i = start; i < end; ) {
      for (let g = 0, ch = 0; g < groups; g++) {
        let s = 0;
        let q = 0;
        for (let j = 0; j < cg; j++, i++, ch++) {
          const v = x[i] + added[ch];
          s += v;
          q += v * v;
        }
        sum[g] += s;
        sumSq[g] += q;
      }
    }
    const n = rows * cg;
    for (let g = 0, ch = 0; g < groups; g++) {
      const mean = sum[g] / n;
      const inv = 1 / Math.sqrt(Math.max(0, sumSq[g] / n - mean * mean) + eps);
      for (let j = 0; j < cg; j++, ch++) {
        scale[ch] = gamma[ch] * inv;
        shift[ch] = beta[ch] + (added[ch] - mean) * scale[ch];
      }
    }
    if (relu) writeRelu(x, scale, shift, rowScale, start / c, rows, c, out);
    else writeAffine(x, scale, shift, rowScale, start / c, rows, c, out);
    start = end;
  }
}

/** out = x * scale + shift (per channel), times rowScale per row when given; rows from `row0`. */
function writeAffine(x: Float32Array, scale: Float64Array, shift: Float64Array, rowScale: Float32Array | null, row0: number, rows: number, c: number, out: Float32Array): void {
  for (let r = row0, i = row0 * c; r < row0 + rows; r++) {
    const f = rowScale ? rowScale[r] : 1;
    for (let ch = 0; ch < c; ch++, i++) out[i] = (x[i] * scale[ch] + shift[ch]) * f;
  }
}

/** out = ReLU(x * scale + shift), times rowScale per row when given. */
function writeRelu(x: Float32Array, scale: Float64Array, shift: Float64Array, rowScale: Float32Array | null, row0: number, rows: number, c: number, out: Float32Array): void {
  for (let r = row0, i = row0 * c; r < row0 + rows; r++) {
    const half = (rowScale ? rowScale[r] : 1) * 0.5;
    for (let ch = 0; ch < c; ch++, i++) {
      const y = x[i] * scale[ch] + shift[ch];
      out[i] = (y + Math.abs(y)) * half;
    }
  }
}

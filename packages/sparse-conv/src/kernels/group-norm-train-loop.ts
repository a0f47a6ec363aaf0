// Training GroupNorm as plain loops, forward and backward, shared by the cpu and wasm kernels. As
// tfjs ops a norm and its gradient ran about 35 kernels (means, centring, std, the gradient's
// sums), each a pass over the map; here each direction is one kernel. Every pass is a function of
// its own: V8 optimises a small hot loop once, while one long function holding every pass was
// deoptimised again and again.

export interface GroupNormTrainShape {
  /** Images, pixels per image (H * W), channels, groups. */
  batch: number;
  pixels: number;
  channels: number;
  groups: number;
}

/**
 * How the backend's Mean kernel rounds, which the forward reproduces: tfjs-backend-wasm keeps a
 * running float32 sum and divides it by n; tfjs-backend-cpu divides each value by n in float32 and
 * sums those in float64, rounding once.
 */
export type MeanRounding = 'float32-running-sum' | 'float64-sum-of-scaled';

// The forward's sums keep one accumulator per group and walk each pixel's groups in turn: the
// float32 running sums are chains of dependent additions, and interleaving the groups' chains ran
// 1.5-2x faster than finishing one group before the next (2x96x128x16, 2x24x32x32; 8 groups).

/**
 * sums[g] of one image, pixel by pixel and channel by channel (the order in which the backend's
 * Mean kernel sums a GroupNorm's [B,H,W,G,C/G] map after moving the reduced axes innermost), of x,
 * or with `mean` [C] of (x - mean)^2 rounded to float32 (the variance's input). wasm's Mean keeps a
 * running float32 sum; cpu's (`scaledBy` n) adds each value divided by n in float32, in float64.
 */
function groupSums(x: Float32Array, start: number, pixels: number, c: number, groups: number, mean: Float32Array | null, scaledBy: number, sums: Float64Array): void {
  const cg = c / groups;
  const squared = mean !== null;
  const running = scaledBy === 0;
  sums.fill(0);
  for (let p = 0, i = start; p < pixels; p++) {
    for (let g = 0, ch = 0; g < groups; g++) {
      let s = sums[g];
      for (let j = 0; j < cg; j++, i++, ch++) {
        let v = x[i];
        if (squared) {
          const d = Math.fround(v - mean[ch]);
          v = Math.fround(d * d);
        }
        s = running ? Math.fround(s + v) : s + Math.fround(v / scaledBy);
      }
      sums[g] = s;
    }
  }
}

/** The groups' means of one image (of x, or with `mean` [C] the variances), as the backend's Mean kernel rounds them. */
function groupMeans(x: Float32Array, start: number, pixels: number, c: number, groups: number, mean: Float32Array | null, rounding: MeanRounding, sums: Float64Array): Float32Array {
  const n = Math.fround((pixels * c) / groups);
  if (rounding === 'float32-running-sum') {
    groupSums(x, start, pixels, c, groups, mean, 0, sums);
    return Float32Array.from(sums, (v) => v / n);
  }
  groupSums(x, start, pixels, c, groups, mean, n, sums);
  return Float32Array.from(sums);
}

/**
 * y = ((x - mean) / std) * gamma + beta over one image, each step rounded to float32 as a kernel
 * of its own would; four channels at a time down the pixels, their coefficients in locals (1.6x).
 */
function normalize(x: Float32Array, start: number, pixels: number, c: number, mean: Float32Array, std: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array): void {
  const step = (v: number, ch: number) => Math.fround(Math.fround(Math.fround(v - mean[ch]) / std[ch]) * gamma[ch]) + beta[ch];
  let ch = 0;
  for (; ch + 4 <= c; ch += 4) {
    const [m0, m1, m2, m3] = [mean[ch], mean[ch + 1], mean[ch + 2], mean[ch + 3]];
    const [s0, s1, s2, s3] = [std[ch], std[ch + 1], std[ch + 2], std[ch + 3]];
    const [g0, g1, g2, g3] = [gamma[ch], gamma[ch + 1], gamma[ch + 2], gamma[ch + 3]];
    const [b0, b1, b2, b3] = [beta[ch], beta[ch + 1], beta[ch + 2], beta[ch + 3]];
    for (let p = 0, i = start + ch; p < pixels; p++, i += c) {
      y[i] = Math.fround(Math.fround(Math.fround(x[i] - m0) / s0) * g0) + b0;
      y[i + 1] = Math.fround(Math.fround(Math.fround(x[i + 1] - m1) / s1) * g1) + b1;
      y[i + 2] = Math.fround(Math.fround(Math.fround(x[i + 2] - m2) / s2) * g2) + b2;
      y[i + 3] = Math.fround(Math.fround(Math.fround(x[i + 3] - m3) / s3) * g3) + b3;
    }
  }
  for (; ch < c; ch++) for (let p = 0, i = start + ch; p < pixels; p++, i += c) y[i] = step(x[i], ch);
}

// The backward passes run over four channels at a time, down the pixels (a stride of C), with their
// sums or coefficients in locals: 2.5-3x faster than walking every channel of a pixel with the sums
// in arrays (measured at 2x96x128x16, 2x24x32x32 and 2x12x16x64).

function sumDyAndDyX(dy: Float32Array, x: Float32Array, start: number, pixels: number, c: number, sumDy: Float64Array, sumDyX: Float64Array): void {
  let ch = 0;
  for (; ch + 4 <= c; ch += 4) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let p = 0, i = start + ch; p < pixels; p++, i += c) {
      const d0 = dy[i];
      const d1 = dy[i + 1];
      const d2 = dy[i + 2];
      const d3 = dy[i + 3];
      s0 += d0;
      s1 += d1;
      s2 += d2;
      s3 += d3;
      t0 += d0 * x[i];
      t1 += d1 * x[i + 1];
      t2 += d2 * x[i + 2];
      t3 += d3 * x[i + 3];
    }
    sumDy[ch] += s0;
    sumDy[ch + 1] += s1;
    sumDy[ch + 2] += s2;
    sumDy[ch + 3] += s3;
    sumDyX[ch] += t0;
    sumDyX[ch + 1] += t1;
    sumDyX[ch + 2] += t2;
    sumDyX[ch + 3] += t3;
  }
  for (; ch < c; ch++) {
    let s0 = 0;
    let t0 = 0;
    for (let p = 0, i = start + ch; p < pixels; p++, i += c) {
      s0 += dy[i];
      t0 += dy[i] * x[i];
    }
    sumDy[ch] += s0;
    sumDyX[ch] += t0;
  }
}

/** out = a * u + k * v + offset, per channel. */
function twoTermAffine(u: Float32Array, v: Float32Array, start: number, pixels: number, c: number, a: Float64Array, k: Float64Array, offset: Float64Array, out: Float32Array): void {
  let ch = 0;
  for (; ch + 4 <= c; ch += 4) {
    const [a0, a1, a2, a3] = [a[ch], a[ch + 1], a[ch + 2], a[ch + 3]];
    const [k0, k1, k2, k3] = [k[ch], k[ch + 1], k[ch + 2], k[ch + 3]];
    const [o0, o1, o2, o3] = [offset[ch], offset[ch + 1], offset[ch + 2], offset[ch + 3]];
    for (let p = 0, i = start + ch; p < pixels; p++, i += c) {
      out[i] = a0 * u[i] + k0 * v[i] + o0;
      out[i + 1] = a1 * u[i + 1] + k1 * v[i + 1] + o1;
      out[i + 2] = a2 * u[i + 2] + k2 * v[i + 2] + o2;
      out[i + 3] = a3 * u[i + 3] + k3 * v[i + 3] + o3;
    }
  }
  for (; ch < c; ch++) for (let p = 0, i = start + ch; p < pixels; p++, i += c) out[i] = a[ch] * u[i] + k[ch] * v[i] + offset[ch];
}

/**
 * y = GN(x) * gamma + beta over NHWC values, statistics per image and group (torch.nn.GroupNorm,
 * biased variance), equal bit for bit to the tfjs ops it replaces on the backend (tf.moments, the
 * division by sqrt(variance + eps), gamma and beta; `rounding` says how its Mean rounds). A
 * GroupNorm output feeds a ReLU, and a last-bit difference flips the derivative of inputs within
 * rounding of 0: the golden files' gradients moved from 1.9e-4 to 5.3e-3 (D8, wasm) with float64
 * statistics. Writes stats[2 * (b * groups + g)] = mean and [+1] = 1 / std for the backward pass.
 */
export function groupNormTrainForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  s: GroupNormTrainShape,
  rounding: MeanRounding,
  y: Float32Array,
  stats: Float32Array,
): void {
  const { batch, pixels, channels: c, groups } = s;
  const cg = c / groups;
  const sums = new Float64Array(groups);
  const meanPerChannel = new Float32Array(c);
  const stdPerChannel = new Float32Array(c);
  const epsilon = Math.fround(eps);
  for (let b = 0; b < batch; b++) {
    const start = b * pixels * c;
    const mean = groupMeans(x, start, pixels, c, groups, null, rounding, sums);
    for (let ch = 0; ch < c; ch++) meanPerChannel[ch] = mean[Math.floor(ch / cg)];
    const variance = groupMeans(x, start, pixels, c, groups, meanPerChannel, rounding, sums);
    for (let g = 0; g < groups; g++) {
      const std = Math.fround(Math.sqrt(Math.fround(variance[g] + epsilon)));
      stdPerChannel.fill(std, g * cg, (g + 1) * cg);
      stats[2 * (b * groups + g)] = mean[g];
      stats[2 * (b * groups + g) + 1] = 1 / std;
    }
    normalize(x, start, pixels, c, meanPerChannel, stdPerChannel, gamma, beta, y);
  }
}

/**
 * The gradient of groupNormTrainForward for the upstream gradient dy: with x̂ = (x - mean) * rstd
 * and dx̂ = dy * gamma, dx = rstd * (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂)) per image and group;
 * dgamma = sum(dy * x̂), dbeta = sum(dy) over images and pixels. One pass gathers, per image and
 * channel, sum(dy) and sum(dy * x) (in float64), from which every group mean follows; a second
 * writes dx = a * dy + k * x + offset with per-channel a, k and offset.
 */
export function groupNormTrainBackward(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  stats: Float32Array,
  s: GroupNormTrainShape,
  dx: Float32Array,
  dGamma: Float32Array,
  dBeta: Float32Array,
): void {
  const { batch, pixels, channels: c, groups } = s;
  const cg = c / groups;
  const n = pixels * cg;
  const sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c);
  const gSum = new Float64Array(c);
  const bSum = new Float64Array(c);
  const a = new Float64Array(c);
  const k = new Float64Array(c);
  const offset = new Float64Array(c);
  for (let b = 0; b < batch; b++) {
    const start = b * pixels * c;
    sumDy.fill(0);
    sumDyX.fill(0);
    sumDyAndDyX(dy, x, start, pixels, c, sumDy, sumDyX);
    for (let g = 0; g < groups; g++) {
      const mean = stats[2 * (b * groups + g)];
      const rstd = stats[2 * (b * groups + g) + 1];
      // sum(dy * x̂) per channel; then the group's sums of dx̂ and dx̂ * x̂
      let s1 = 0;
      let s2 = 0;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        const dyXHat = (sumDyX[ch] - mean * sumDy[ch]) * rstd;
        gSum[ch] += dyXHat;
        bSum[ch] += sumDy[ch];
        s1 += gamma[ch] * sumDy[ch];
        s2 += gamma[ch] * dyXHat;
      }
      // dx = rstd * (gamma * dy - s1 / n - x̂ * s2 / n), x̂ = (x - mean) * rstd
      const kx = (-rstd * rstd * s2) / n;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        a[ch] = rstd * gamma[ch];
        k[ch] = kx;
        offset[ch] = (-rstd * s1) / n - kx * mean;
      }
    }
    twoTermAffine(dy, x, start, pixels, c, a, k, offset, dx);
  }
  for (let ch = 0; ch < c; ch++) {
    dGamma[ch] = gSum[ch];
    dBeta[ch] = bSum[ch];
  }
}

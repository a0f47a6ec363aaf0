import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, callKernel, inputsOf, type KernelArgs, readValues, release, writeOutput } from './kernel-call';

/** Output pixels per block: their float64 accumulators (BLOCK * Cout) stay in L1. */
const BLOCK = 8;

/**
 * acc[slot[q] + o] += val[q] * w[wo + o] for n (pixel, input value) pairs, four pixels per pass
 * over the weight row: one weight load feeds four products, twice the throughput of a one-pixel
 * loop in V8's scalar code. Each accumulator still receives its terms in tap, channel order.
 */
function accumulate(acc: Float64Array, slot: Int32Array, val: Float64Array, n: number, w: tf.TypedArray, wo: number, outChannels: number): void {
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
    for (let o = 0; o < outChannels; o++) {
      const wv = w[wo + o];
      acc[o0 + o] += v0 * wv;
      acc[o1 + o] += v1 * wv;
      acc[o2 + o] += v2 * wv;
      acc[o3 + o] += v3 * wv;
    }
  }
  for (; q < n; q++) {
    const o0 = slot[q];
    const v0 = val[q];
    for (let o = 0; o < outChannels; o++) acc[o0 + o] += v0 * w[wo + o];
  }
}

/**
 * NHWC conv whose every output is its exact sum rounded once to float32 (a float64 accumulator per
 * output pixel; products of two float32 values are exact in float64). tfjs-backend-cpu's Conv2D adds
 * into a Float32Array, rounding after each of the 9 * C terms, so its outputs carry several times
 * the rounding error of XNNPACK's or PyTorch's. That is enough to put a unit on the other side of a
 * ReLU from the PyTorch reference: on the D4 golden file the cpu gradients differed by 4.6e-4 for
 * that reason alone, and are 8e-7 with this kernel. Blocking output pixels four to a weight load
 * and skipping zero inputs (post-ReLU maps are about half zeros) also make it faster than the
 * built-in loop.
 */
function conv2dSum(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias?: ArrayLike<number>,
  relu = false,
): tf.TensorInfo {
  const xv = readValues(backend, x);
  const wv = readValues(backend, filter);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const pixels = B * OH * OW;
  const out = new Float32Array(pixels * O);
  if (O === 1) {
    const oneSum = FH === 3 && FW === 3 && SH === 1 && SW === 1 ? tapDotsThenSum : oneOutputSum;
    oneSum(xv, wv, info, bias === undefined ? 0 : bias[0], relu, out);
    return writeOutput(backend, [B, OH, OW, O], 'float32', out);
  }
  const acc = new Float64Array(BLOCK * O);
  const src = new Int32Array(BLOCK);
  const slot = new Int32Array(BLOCK);
  const live = new Int32Array(BLOCK);
  const val = new Float64Array(BLOCK);
  const plane = OH * OW;
  for (let start = 0; start < pixels; start += BLOCK) {
    const count = Math.min(BLOCK, pixels - start);
    for (let j = 0; j < count; j++) {
      if (bias) for (let o = 0; o < O; o++) acc[j * O + o] = bias[o];
      else acc.fill(0, j * O, (j + 1) * O);
    }
    for (let fy = 0; fy < FH; fy++) {
      for (let fx = 0; fx < FW; fx++) {
        // the block's output pixels whose tap (fy, fx) reads inside the image
        let m = 0;
        for (let j = 0; j < count; j++) {
          const p = start + j;
          const b = (p / plane) | 0;
          const oy = ((p - b * plane) / OW) | 0;
          const ox = p - b * plane - oy * OW;
          const y = oy * SH - top + fy * DH;
          const xx = ox * SW - left + fx * DW;
          if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
          src[m] = ((b * H + y) * W + xx) * C;
          slot[m] = j * O;
          m++;
        }
        const wTap = (fy * FW + fx) * C;
        for (let c = 0; c < C; c++) {
          // (a NaN weight still shows wherever its input is non-zero)
          let n = 0;
          for (let j = 0; j < m; j++) {
            const v = xv[src[j] + c];
            if (v === 0) continue;
            live[n] = slot[j];
            val[n] = v;
            n++;
          }
          accumulate(acc, live, val, n, wv, (wTap + c) * O, O);
        }
      }
    }
    const at = start * O;
    if (relu) for (let i = 0; i < count * O; i++) out[at + i] = acc[i] > 0 ? acc[i] : 0;
    else out.set(acc.subarray(0, count * O), at);
  }
  return writeOutput(backend, [B, OH, OW, O], 'float32', out);
}

/**
 * The single-output case (a spatial gate's C -> 1 conv, the centerness predictor): there is no
 * weight row to share across pixels, so each pixel's taps are dot products over contiguous
 * channels (16 against 47 ms for the blocked loop on a 50x84x256 map). Four float64 partial sums,
 * channels c mod 4, added pairwise at the end: one running sum would wait on the previous add for
 * every term (a third slower). The same terms, exact in float64, so the result differs from the
 * sequential sum only in float64 rounding, far below float32's.
 */
function oneOutputSum(xv: tf.TypedArray, wv: tf.TypedArray, info: tf.backend_util.Conv2DInfo, bias: number, relu: boolean, out: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const C4 = C - (C % 4);
  for (let b = 0, p = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, p++) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let fy = 0; fy < FH; fy++) {
          const y = oy * SH - info.padInfo.top + fy * DH;
          if (y < 0 || y >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const xx = ox * SW - info.padInfo.left + fx * DW;
            if (xx < 0 || xx >= W) continue;
            const xo = ((b * H + y) * W + xx) * C;
            const wo = (fy * FW + fx) * C;
            let c = 0;
            for (; c < C4; c += 4) {
              s0 += xv[xo + c] * wv[wo + c];
              s1 += xv[xo + c + 1] * wv[wo + c + 1];
              s2 += xv[xo + c + 2] * wv[wo + c + 2];
              s3 += xv[xo + c + 3] * wv[wo + c + 3];
            }
            for (; c < C; c++) s0 += xv[xo + c] * wv[wo + c];
          }
        }
        const sum = bias + ((s0 + s1) + (s2 + s3));
        out[p] = relu && !(sum > 0) ? 0 : sum;
      }
    }
  }
}

/**
 * The single-output 3x3 conv at stride 1 (every spatial gate's): each input pixel's nine dot
 * products with the nine taps' weights in one read of its channels, into nine independent float64
 * sums, then each output pixel adds the products its taps read. About twice the one-output loop
 * above (9 against 18 loads per 9 terms, nine independent chains of adds); at stride 1 an input
 * pixel's dots serve up to nine outputs, so only a border's unread dots are wasted.
 */
function tapDotsThenSum(xv: tf.TypedArray, wv: tf.TypedArray, info: tf.backend_util.Conv2DInfo, bias: number, relu: boolean, out: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, dilationHeight: DH, dilationWidth: DW } = info;
  // weights as [C][9], so one channel's nine weights sit together
  const taps = new Float64Array(9 * C);
  for (let t = 0; t < 9; t++) for (let c = 0; c < C; c++) taps[c * 9 + t] = wv[t * C + c];
  const dots = new Float64Array(H * W * 9);
  for (let b = 0, p = 0; b < B; b++) {
    for (let q = 0, xo = b * H * W * C; q < H * W; q++, xo += C) {
      let z0 = 0;
      let z1 = 0;
      let z2 = 0;
      let z3 = 0;
      let z4 = 0;
      let z5 = 0;
      let z6 = 0;
      let z7 = 0;
      let z8 = 0;
      for (let c = 0, k = 0; c < C; c++, k += 9) {
        const v = xv[xo + c];
        z0 += v * taps[k];
        z1 += v * taps[k + 1];
        z2 += v * taps[k + 2];
        z3 += v * taps[k + 3];
        z4 += v * taps[k + 4];
        z5 += v * taps[k + 5];
        z6 += v * taps[k + 6];
        z7 += v * taps[k + 7];
        z8 += v * taps[k + 8];
      }
      const o = q * 9;
      dots[o] = z0;
      dots[o + 1] = z1;
      dots[o + 2] = z2;
      dots[o + 3] = z3;
      dots[o + 4] = z4;
      dots[o + 5] = z5;
      dots[o + 6] = z6;
      dots[o + 7] = z7;
      dots[o + 8] = z8;
    }
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, p++) {
        let sum = bias;
        for (let fy = 0; fy < 3; fy++) {
          const y = oy - info.padInfo.top + fy * DH;
          if (y < 0 || y >= H) continue;
          for (let fx = 0; fx < 3; fx++) {
            const xx = ox - info.padInfo.left + fx * DW;
            if (xx >= 0 && xx < W) sum += dots[(y * W + xx) * 9 + fy * 3 + fx];
          }
        }
        out[p] = relu && !(sum > 0) ? 0 : sum;
      }
    }
  }
}

function convInfo(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.Conv2DAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** Conv2D on cpu; NCHW (which nothing in dynhead uses) stays with the built-in kernel. */
export function conv2dFloat64SumConfig(builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Conv2D,
    backendName: 'cpu',
    kernelFunc: (args: KernelArgs) => {
      const attrs = attrsOf<tf.Conv2DAttrs>(args);
      const { x, filter } = inputsOf(args, tf.Conv2D, 'x', 'filter');
      if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32') return builtin.kernelFunc(args);
      return conv2dSum(backendOf(args), x, filter, convInfo(x, filter, attrs));
    },
  };
}

/** The activation kernels FusedConv2D may apply after the bias. */
const ACTIVATION_KERNELS: Partial<Record<string, string>> = {
  relu: 'Relu',
  relu6: 'Relu6',
  elu: 'Elu',
  sigmoid: 'Sigmoid',
  leakyrelu: 'LeakyRelu',
  prelu: 'Prelu',
};

/**
 * FusedConv2D on cpu through the same sum, so fused and plain convs round alike. A per-channel
 * bias starts the accumulator and ReLU is applied in place; other biases and activations run as
 * the backend's own kernels afterwards.
 */
export function fusedConv2dFloat64SumConfig(builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.FusedConv2D,
    backendName: 'cpu',
    kernelFunc: (args: KernelArgs) => {
      const attrs = attrsOf<tf.FusedConv2DAttrs>(args);
      const { x, filter } = inputsOf(args, tf.FusedConv2D, 'x', 'filter');
      const activation = attrs.activation ?? 'linear';
      const activationKernel = ACTIVATION_KERNELS[activation];
      if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32' || (activation !== 'linear' && !activationKernel)) return builtin.kernelFunc(args);
      const backend = backendOf(args);
      const info = convInfo(x, filter, attrs);
      const bias = args.inputs.bias;
      const channelBias = bias !== undefined && bias.shape.length === 1 && bias.shape[0] === info.outChannels;
      const inline = activation === 'relu' && (bias === undefined || channelBias);
      let y = conv2dSum(backend, x, filter, info, channelBias ? readValues(backend, bias) : undefined, inline);
      if (bias !== undefined && !channelBias) {
        const biased = callKernel('Add', 'cpu', backend, { a: y, b: bias });
        release(backend, y);
        y = biased;
      }
      if (!inline && activationKernel) {
        const inputs: tf.NamedTensorInfoMap = { x: y };
        if (activation === 'prelu') {
          const alpha = args.inputs.preluActivationWeights;
          if (!alpha) throw new Error('FusedConv2D: activation prelu needs the preluActivationWeights input');
          inputs.alpha = alpha;
        }
        const activated = callKernel(activationKernel, 'cpu', backend, inputs, activation === 'leakyrelu' ? { alpha: attrs.leakyreluAlpha } : {});
        release(backend, y);
        y = activated;
      }
      return y;
    },
  };
}

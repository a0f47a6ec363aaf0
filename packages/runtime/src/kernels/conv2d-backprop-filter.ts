import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, callKernel, inputsOf, type KernelArgs, pair, release } from './kernel-call';

/**
 * dW[kh, kw, ci, co] = sum_{b,h,w} x_pad[b, h*s + kh, w*s + kw, ci] * dy[b, h, w, co] is itself a
 * forward conv: x as [Cin, H, W, B] convolved with dy as the filter [Ho, Wo, B, Cout], stride 1,
 * dilation = the original stride, the original padding. Built from the backend's own Transpose,
 * Conv2D and Slice, it runs at forward-conv speed (wasm has no such kernel; cpu's is a slow loop).
 */
export function conv2dBackpropFilterComposed(args: KernelArgs, backendName: string): tf.TensorInfo {
  const backend = backendOf(args);
  const { x, dy } = inputsOf(args, tf.Conv2DBackpropFilter, 'x', 'dy');
  const attrs = attrsOf<tf.Conv2DBackpropFilterAttrs>(args);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const channelsFirst = dataFormat === 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    channelsFirst ? 'channelsFirst' : 'channelsLast',
  );
  const [kh, kw, cin, cout] = filterShape;
  const { top, bottom, left, right } = info.padInfo;
  const run = (name: string, ins: tf.NamedTensorInfoMap, at: object) => callKernel(name, backendName, backend, ins, at);

  const xT = run('Transpose', { x }, { perm: channelsFirst ? [1, 2, 3, 0] : [3, 1, 2, 0] }); // [Cin, H, W, B]
  const dyT = run('Transpose', { x: dy }, { perm: channelsFirst ? [2, 3, 0, 1] : [1, 2, 0, 3] }); // [Ho, Wo, B, Cout]
  const full = run(
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      dilations: [info.strideHeight, info.strideWidth],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  ); // [Cin, >=kh, >=kw, Cout]: rows past the filter come from padding rounding
  release(backend, xT, dyT);
  const needsSlice = full.shape[1] !== kh || full.shape[2] !== kw;
  const cut = needsSlice ? run('Slice', { x: full }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] }) : full;
  const dW = run('Transpose', { x: cut }, { perm: [1, 2, 0, 3] }); // [kh, kw, Cin, Cout]
  release(backend, full);
  if (needsSlice) release(backend, cut);
  return dW;
}

/**
 * The same dW as one matrix product per filter tap: dW[kh, kw] = X_tap^T · dY, where dY is dy as
 * [P, Cout] (P = N*Ho*Wo) and X_tap^T [Cin, P] holds, for every output pixel, the input pixel its
 * tap reads. With x transposed to [Cin, N, H, W] (and padded), X_tap^T is a strided window of it, and
 * dY is the same matrix B in all kh*kw products, so XNNPACK packs it once. On wasm the conv form
 * above runs XNNPACK's convolution with Ho*Wo filter taps of only N input channels each (an
 * indirection pointer per input value); this form runs its GEMM. NHWC only.
 */
export function conv2dBackpropFilterMatMul(args: KernelArgs, backendName: string): tf.TensorInfo {
  const backend = backendOf(args);
  const { x, dy } = inputsOf(args, tf.Conv2DBackpropFilter, 'x', 'dy');
  const { strides, pad, dimRoundingMode, filterShape } = attrsOf<tf.Conv2DBackpropFilterAttrs>(args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [kh, kw, cin, cout] = filterShape;
  const { batchSize: n, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
  const { top, bottom, left, right } = info.padInfo;
  const pixels = n * ho * wo;
  const run = (name: string, ins: tf.NamedTensorInfoMap | tf.TensorInfo[], at: object) =>
    callKernel(name, backendName, backend, ins as tf.NamedTensorInfoMap, at);

  const xT = run('Transpose', { x }, { perm: [3, 0, 1, 2] }); // [Cin, N, H, W]
  const padded = top + bottom + left + right > 0;
  const xp = padded
    ? run('PadV2', { x: xT }, { paddings: [[0, 0], [0, 0], [top, bottom], [left, right]], constantValue: 0 })
    : xT;
  const dyRows = run('Reshape', { x: dy }, { shape: [1, pixels, cout] });
  const taps: tf.TensorInfo[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const window = run(
        'StridedSlice',
        { x: xp },
        { begin: [0, 0, i, j], end: [cin, n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1], strides: [1, 1, sh, sw], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
      ); // [Cin, N, Ho, Wo]
      const a = run('Reshape', { x: window }, { shape: [1, cin, pixels] });
      taps.push(run('BatchMatMul', { a, b: dyRows }, { transposeA: false, transposeB: false })); // [1, Cin, Cout]
      release(backend, window, a);
    }
  }
  const stacked = run('Concat', taps, { axis: 0 }); // [kh*kw, Cin, Cout]
  const dW = run('Reshape', { x: stacked }, { shape: [kh, kw, cin, cout] });
  release(backend, xT, dyRows, stacked, ...taps);
  if (padded) release(backend, xp);
  return dW;
}

/**
 * Where the matrix-product form beats the conv form on wasm: stride 1 (wasm's StridedSlice copies
 * element by element: a strided 7x7 stem took 962 against 26 ms), NHWC, and a 1x1 filter or enough
 * work for the GEMM to pay for its kh*kw calls. Measured per call (scratch script, 2026-12-03):
 * 1x1 at 2x24x32, 64 -> 32: 2.8 -> 0.8 ms; 3x3 at 1x32x32, 128 -> 128: 66 -> 31 ms; 2x100x167,
 * 256 -> 256: 6.5 -> 4.6 s; but 2x48x64, 16 -> 16: 7.2 -> 12.3 ms and 2x12x16, 64 -> 64: 5.0 -> 5.3 ms.
 */
function matMulFormPays(args: KernelArgs): boolean {
  const { strides, dataFormat, filterShape } = attrsOf<tf.Conv2DBackpropFilterAttrs>(args);
  const [sh, sw] = pair(strides);
  if (sh !== 1 || sw !== 1 || dataFormat === 'NCHW') return false;
  const [kh, kw, cin, cout] = filterShape;
  if (kh * kw === 1) return true;
  const { dy } = inputsOf(args, tf.Conv2DBackpropFilter, 'dy');
  const macs = dy.shape[0] * dy.shape[1] * dy.shape[2] * kh * kw * cin * cout;
  return cin >= 64 && cout >= 64 && macs >= MATMUL_FORM_MIN_MACS;
}

/** Below this much work the kh*kw products' fixed costs outweigh the GEMM's speed (see matMulFormPays). */
const MATMUL_FORM_MIN_MACS = 5e7;

/** wasm: the matrix-product form where it pays (matMulFormPays), else the conv form; cpu: the conv form (its exact-sum Conv2D). */
export function conv2dBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: (args) =>
      backendName === 'wasm' && matMulFormPays(args) ? conv2dBackpropFilterMatMul(args, backendName) : conv2dBackpropFilterComposed(args, backendName),
  };
}

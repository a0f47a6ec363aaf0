import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, callKernel, inputsOf, type KernelArgs, pair, release } from './kernel-call';
import { rotatedFilter } from './rotated-filter';

/**
 * Any stride, NHWC: dx = a stride-1 forward conv of dy (with stride-1 zeros inserted between its pixels) and the
 * filter rotated 180 degrees with its in/out channels swapped, padded by k - 1 - pad. wasm runs
 * that conv through XNNPACK, where its own Conv2DBackpropInput is a naive loop.
 */
export function conv2dBackpropInputComposed(args: KernelArgs, backendName: string): tf.TensorInfo {
  const backend = backendOf(args);
  const { dy, filter } = inputsOf(args, tf.Conv2DBackpropInput, 'dy', 'filter');
  const attrs = attrsOf<tf.Conv2DBackpropInputAttrs>(args);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const run = (name: string, ins: tf.NamedTensorInfoMap, at: object) => callKernel(name, backendName, backend, ins, at);
  const [N, Ho, Wo, Co] = dy.shape;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight: H, inWidth: W } = info;
  const temps: tf.TensorInfo[] = [];

  // Zero insertion: [N,Ho,1,Wo,1,C] padded to [N,Ho,sh,Wo,sw,C] is dy spread onto the input grid.
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const r6 = run('Reshape', { x: dy }, { shape: [N, Ho, 1, Wo, 1, Co] });
    const p6 = run('PadV2', { x: r6 }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
    spread = run('Reshape', { x: p6 }, { shape: [N, Ho * sh, Wo * sw, Co] });
    temps.push(r6, p6, spread);
  }
  // Rows/cols of `spread` that reach dx, and the conv padding that places them.
  const rows = (Ho - 1) * sh + 1;
  const cols = (Wo - 1) * sw + 1;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = H - rows + kh - 1 - top;
  const right = W - cols + kw - 1 - left;
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const keepRows = rows - cropTop - Math.max(0, -bottom);
  const keepCols = cols - cropLeft - Math.max(0, -right);
  let src = spread;
  if (cropTop > 0 || cropLeft > 0 || keepRows !== spread.shape[1] || keepCols !== spread.shape[2]) {
    src = run('Slice', { x: spread }, { begin: [0, cropTop, cropLeft, 0], size: [N, keepRows, keepCols, Co] });
    temps.push(src);
  }
  const swapped = rotatedFilter(backend, backendName, filter, true); // [kh, kw, Cout, Cin]
  temps.push(swapped);
  const dx = run(
    'Conv2D',
    { x: src, filter: swapped },
    {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  release(backend, ...temps);
  return dx;
}

/**
 * Replaces Conv2DBackpropInput at stride 1 (NHWC), where the forward conv is 3-8x faster than
 * wasm's loop. Strided calls: on wasm the zero-inserted conv (4x the work at stride 2) for filters
 * larger than 1x1, since the filter's rotation no longer calls wasm's slow Reverse (3x3 at stride 2:
 * 1.4-2.3x the built-in loop's speed; a 7x7 stem 1.2x; 1x1 even, so left to the built-in); on cpu
 * the backend's own kernel (`builtin`). packages/runtime/README.md has the numbers.
 */
export function conv2dBackpropInputConfig(backendName: string, builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    // The replaced kernel's set-up (wasm's cwrap) must still run for the calls routed to it.
    setupFunc: builtin.setupFunc,
    disposeFunc: builtin.disposeFunc,
    kernelFunc: (args) => {
      const { strides, dataFormat } = attrsOf<tf.Conv2DBackpropInputAttrs>(args);
      const [sh, sw] = pair(strides);
      const [kh, kw] = inputsOf(args, tf.Conv2DBackpropInput, 'filter').filter.shape;
      const composed = (sh === 1 && sw === 1) || (backendName === 'wasm' && kh * kw > 1);
      return composed && dataFormat !== 'NCHW' ? conv2dBackpropInputComposed(args, backendName) : (builtin.kernelFunc(args) as tf.TensorInfo);
    },
  };
}

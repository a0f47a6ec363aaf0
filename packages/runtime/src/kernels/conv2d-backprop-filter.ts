import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, callKernel, inputsOf, type KernelArgs, release } from './kernel-call';

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

export function conv2dBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: (args) => conv2dBackpropFilterComposed(args, backendName),
  };
}

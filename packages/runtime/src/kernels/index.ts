import * as tf from '@tensorflow/tfjs-core';
import { addNInChunksConfig } from './add-n-in-chunks';
import { type BroadcastOp, broadcastBinaryConfig } from './broadcast-binary';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { conv2dFloat64SumConfig, fusedConv2dFloat64SumConfig } from './conv2d-float64-sum';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseConv2dSumConfig } from './depthwise-conv2d';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { replaceKernel } from './kernel-call';
import { maxPoolGradConfig } from './max-pool-grad';
import { momentumSgdConfig } from './momentum-sgd';
import { sumOfSquaresConfig } from './sum-of-squares';
import { resizeNearestNeighborGradConfig } from './resize-nearest-neighbor-grad';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';

const done = new Set<string>();

/**
 * Training kernels per backend, registered once after the backend's module is imported (before
 * it initialises, so set-up functions run): wasm lacks Conv2DBackpropFilter, the depthwise
 * backprops and UnsortedSegmentSum; cpu's Conv2DBackpropFilter is a ~100x slower loop than a
 * forward conv, its ResizeNearestNeighborGrad is wrong for batch > 1 (wasm's ignores
 * halfPixelCenters), its Conv2D rounds after every term (conv2d-float64-sum), its depthwise conv
 * reads every value through a buffer accessor, and its broadcasting binary ops convert every index
 * to coordinates (broadcast-binary); wasm's Conv2DBackpropInput is a naive loop; cpu's MaxPoolGrad is
 * a ~50x slower loop and wasm's loses tied windows' gradient; webgpu's AddN fails beyond 8 inputs.
 */
export function registerKernelFixes(backendName: string): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  // not a fix: the optimizer's update in one kernel a parameter (momentum-sgd.ts)
  if (backendName === 'cpu' || backendName === 'wasm' || backendName === 'webgpu') replaceKernel(momentumSgdConfig(backendName));
  if (backendName === 'cpu') {
    replaceKernel(conv2dBackpropFilterConfig('cpu'));
    // cpu's built-in depthwise backprops ignore dilations.
    replaceKernel(depthwiseBackpropFilterConfig('cpu'));
    replaceKernel(depthwiseBackpropInputConfig('cpu'));
    replaceKernel(resizeNearestNeighborGradConfig('cpu'));
    replaceKernel(maxPoolGradConfig('cpu'));
    const conv = tf.getKernel(tf.Conv2D, 'cpu');
    if (conv) replaceKernel(conv2dFloat64SumConfig(conv));
    const fused = tf.getKernel(tf.FusedConv2D, 'cpu');
    if (fused) replaceKernel(fusedConv2dFloat64SumConfig(fused));
    // Stride 1 through the forward conv above (exact sums, ~2x faster); strided calls stay built-in.
    const backpropInput = tf.getKernel(tf.Conv2DBackpropInput, 'cpu');
    if (backpropInput) replaceKernel(conv2dBackpropInputConfig('cpu', backpropInput));
    const depthwise = tf.getKernel(tf.DepthwiseConv2dNative, 'cpu');
    if (depthwise) replaceKernel(depthwiseConv2dSumConfig(depthwise));
    for (const op of ['Add', 'Sub', 'Multiply', 'RealDiv'] as BroadcastOp[]) {
      const builtin = tf.getKernel(op, 'cpu');
      if (builtin) replaceKernel(broadcastBinaryConfig(op, builtin));
    }
  } else if (backendName === 'wasm') {
    replaceKernel(conv2dBackpropFilterConfig('wasm'));
    replaceKernel(depthwiseBackpropFilterConfig('wasm', true));
    replaceKernel(depthwiseBackpropInputConfig('wasm', true));
    replaceKernel(unsortedSegmentSumConfig('wasm'));
    replaceKernel(resizeNearestNeighborGradConfig('wasm'));
    replaceKernel(maxPoolGradConfig('wasm'));
    const builtin = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
    if (builtin) replaceKernel(conv2dBackpropInputConfig('wasm', builtin));
  } else if (backendName === 'webgpu') {
    // the gradient norm's sums in one dispatch per 7 gradients (cpu and wasm keep the ops' rounding)
    replaceKernel(sumOfSquaresConfig());
    const addN = tf.getKernel(tf.AddN, 'webgpu');
    if (addN) replaceKernel(addNInChunksConfig(addN));
  }
}

export { conv2dBackpropFilterComposed, conv2dBackpropFilterConfig, conv2dBackpropFilterMatMul } from './conv2d-backprop-filter';
export { conv2dBackpropInputComposed, conv2dBackpropInputConfig } from './conv2d-backprop-input';
export { conv2dFloat64SumConfig, fusedConv2dFloat64SumConfig } from './conv2d-float64-sum';
export { depthwiseConv2dSum, depthwiseConv2dSumConfig } from './depthwise-conv2d';
export { depthwiseBackpropFilter, depthwiseBackpropFilterComposed, depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
export { depthwiseBackpropInput, depthwiseBackpropInputComposed, depthwiseBackpropInputConfig } from './depthwise-backprop-input';
export { unsortedSegmentSum, unsortedSegmentSumConfig } from './unsorted-segment-sum';
export { resizeNearestNeighborGrad, resizeNearestNeighborGradConfig } from './resize-nearest-neighbor-grad';
export { maxPoolGrad, maxPoolGradConfig } from './max-pool-grad';
export { MOMENTUM_SGD, type MomentumSgdAttrs, momentumSgdConfig } from './momentum-sgd';
export { SUM_OF_SQUARES, SUM_OF_SQUARES_MAX_INPUTS, sumOfSquaresConfig } from './sum-of-squares';
export { addNInChunksConfig } from './add-n-in-chunks';
export { broadcastBinary, broadcastBinaryConfig, type BroadcastOp } from './broadcast-binary';

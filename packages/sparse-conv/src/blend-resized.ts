import * as tf from '@tensorflow/tfjs-core';
import { BLEND_RESIZED, type BlendResizedAttrs } from './kernels/kernel-names';
import { hasKernel } from './kernels/register';

/**
 * `x * xWeight + (sum of sources, each resized bilinearly to x's size) * sourceWeight`, with
 * align_corners as given: a scale node's input to its depth node. Weights are scalar tensors
 * (shape [1] or []); without sourceWeight the sum is added as it is; a source whose size already
 * equals x's is not resized. Inference only (not differentiable). wasm runs one SIMD pass over the
 * map (resizes, add and multiplies fused); other backends the tfjs ops.
 */
export function blendResized(x: tf.Tensor4D, xWeight: tf.Tensor, sources: tf.Tensor4D[], sourceWeight: tf.Tensor | null, alignCorners = true): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  for (const [i, s] of sources.entries()) {
    if (s.rank !== 4 || s.shape[0] !== b || s.shape[3] !== c) {
      throw new Error(`blendResized: sources[${i}] has shape [${s.shape.join(',')}]; it needs x's batch ${b} and channels ${c}`);
    }
  }
  if (xWeight.size !== 1 || (sourceWeight && sourceWeight.size !== 1)) {
    throw new Error(`blendResized: xWeight [${xWeight.shape.join(',')}] and sourceWeight [${sourceWeight?.shape.join(',') ?? ''}] must hold one value each`);
  }
  if (sources.length === 0) return tf.mul(x, xWeight) as tf.Tensor4D;
  if (sources.length <= 2 && hasKernel(BLEND_RESIZED)) {
    const attrs: BlendResizedAttrs = { alignCorners, weighted: sourceWeight !== null };
    const inputs: tf.NamedTensorMap = { x, xWeight, a: sources[0] };
    if (sources[1]) inputs.b = sources[1];
    if (sourceWeight) inputs.sourceWeight = sourceWeight;
    return tf.engine().runKernel(BLEND_RESIZED, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const resized = sources.map((s) => (s.shape[1] === h && s.shape[2] === w ? s : tf.image.resizeBilinear(s, [h, w], alignCorners)));
    const sum = resized.length === 1 ? resized[0] : tf.addN(resized);
    return tf.add(sourceWeight ? tf.mul(sum, sourceWeight) : sum, tf.mul(x, xWeight)) as tf.Tensor4D;
  });
}

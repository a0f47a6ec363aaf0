import * as tf from '@tensorflow/tfjs-core';
import { geReTanHGradKernel, geReTanHKernel, hasGeReTanHKernel } from './ge-retanh-kernel';

/**
 * GeReTanH (paper Eq. 3): delta(v) = max(0, (tanh(v - tau) + tanh(tau)) / (1 + tanh(tau))).
 *
 * `bias` (optional, one value, e.g. a gate conv's bias) is added to x first: v = x + bias, in one
 * kernel with the activation on webgpu at inference.
 *
 * The value is zero exactly where v <= 0 on every backend: the step factor guarantees it even where
 * a backend's tanh is not exactly odd (WebGPU's tanh is an exp approximation), because the sparse
 * path relies on exact zeros to skip pixels without a threshold.
 */
export function geReTanH<T extends tf.Tensor>(x: T, tau = 1.5, bias?: tf.Tensor): T {
  if (!(tau >= 0) || !Number.isFinite(tau)) throw new Error(`geReTanH: tau must be a finite number >= 0, got ${tau}`);
  if (bias && bias.size !== 1) throw new Error(`geReTanH: bias must hold one value, got shape [${bias.shape.join(',')}]`);
  // tanh(tau) in float64, as the official code computes it in Python before the float32 ops.
  const tanhTau = Math.tanh(tau);
  const scale = 1 / (1 + tanhTau);
  // tanh(v - tau) and the step are saved for the gradient
  const forward = (input: tf.Tensor) => {
    const shifted = tf.tanh(tf.sub(input, tau));
    const on = tf.step(input);
    return { shifted, on, value: tf.mul(tf.relu(tf.mul(tf.add(shifted, tanhTau), scale)), on) };
  };
  // No gradient being recorded (inference): the same ops without the customGrad scope, which
  // costs more than the ops themselves on a gate map (240 gates per D8 pass); on webgpu one
  // kernel, as each op there is a dispatch.
  const oneKernel = hasGeReTanHKernel() && x.dtype === 'float32';
  if (!tf.engine().isTapeOn()) {
    if (oneKernel) return geReTanHKernel(x, tau, bias);
    return tf.tidy(() => forward(bias ? tf.add(x, bias) : x).value) as T;
  }
  // Training on webgpu: one kernel each way (2 dispatches where the ops below take 12), with the
  // same float32 steps, so the same values
  const f = oneKernel ? kernelWithGradient(tau) : opsWithGradient(forward, scale);
  return (bias ? tf.tidy(() => f(tf.add(x, bias))) : f(x)) as T;
}

function kernelWithGradient(tau: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return { value: geReTanHKernel(input, tau), gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => [geReTanHGradKernel(dy, saved, tau)] };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

function opsWithGradient(forward: (input: tf.Tensor) => { shifted: tf.Tensor; on: tf.Tensor; value: tf.Tensor }, scale: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const { shifted, on, value } = forward(input);
    save([shifted, on]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [t, mask] = saved;
        // d/dv = (1 - tanh^2(v - tau)) / (1 + tanh tau) where v > 0, else 0.
        return [tf.mul(dy, tf.mul(mask, tf.mul(tf.sub(1, tf.square(t)), scale)))];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

/** The restricted tanh max(0, tanh v): GeReTanH with tau = 0. */
export function reTanH<T extends tf.Tensor>(x: T, bias?: tf.Tensor): T {
  return geReTanH(x, 0, bias);
}

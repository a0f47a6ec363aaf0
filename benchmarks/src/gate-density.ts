import type { DynamicHead } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';
import { disposeOutputs, readCosts } from './head-outputs';

/** The head's spatial-gate biases (official names end in `gate.gate_conv.bias`). */
export function gateBiases(head: DynamicHead): tf.Variable[] {
  const biases = [...head.namedWeights()].filter(([name]) => /(^|\.)gate\..*bias$/.test(name)).map(([, v]) => v);
  if (biases.length === 0) {
    const some = [...head.namedWeights().keys()].slice(0, 5).join(', ');
    throw new Error(`gateBiases: the head has no gate bias variables (a ${head.config.kind} head? names: ${some}, ...)`);
  }
  return biases;
}

export function setGateBias(head: DynamicHead, bias: number): void {
  tf.tidy(() => {
    for (const v of gateBiases(head)) v.assign(tf.fill(v.shape, bias));
  });
}

/** Inference-mode used/full over all images of `features`. */
export async function usedRatio(head: DynamicHead, features: tf.Tensor4D[]): Promise<number> {
  const out = await head.infer(features, { recordGates: false });
  const { used, full } = await readCosts(out);
  disposeOutputs(out);
  return used.reduce((a, b) => a + b, 0) / full.reduce((a, b) => a + b, 0);
}

export interface Calibration {
  bias: number;
  ratio: number;
}

/**
 * Sets one common bias on every gate so that the head's used/full cost ratio on `features` is
 * `target` (bisection: the ratio grows with the bias, since a gate is on where its pre-activation
 * is positive). This is how the benchmark sets Low / Mid / High densities without trained weights.
 */
export async function calibrateGateBias(
  head: DynamicHead,
  features: tf.Tensor4D[],
  target: number,
  { lo = -8, hi = 8, iterations = 10 }: { lo?: number; hi?: number; iterations?: number } = {},
): Promise<Calibration> {
  if (!(target > 0 && target < 1)) throw new Error(`calibrateGateBias: target must lie in (0, 1), got ${target}`);
  let best: Calibration = { bias: hi, ratio: Number.NaN };
  for (let i = 0; i < iterations; i++) {
    const bias = (lo + hi) / 2;
    setGateBias(head, bias);
    const ratio = await usedRatio(head, features);
    if (Number.isNaN(best.ratio) || Math.abs(ratio - target) < Math.abs(best.ratio - target)) best = { bias, ratio };
    if (ratio < target) lo = bias;
    else hi = bias;
  }
  setGateBias(head, best.bias);
  return best;
}

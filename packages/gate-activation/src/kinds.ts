import * as tf from '@tensorflow/tfjs-core';
import { geReTanH, reTanH } from './ge-retanh';
import { geReTanHWgsl } from './ge-retanh-kernel';
import { sigmoidGate, softmaxGate } from './smooth-gates';

export type GateKind = 'geReTanH' | 'reTanH' | 'sigmoid' | 'softmax';

export interface GateOptions {
  /** GeReTanH's tau (paper's best: 1.5). Ignored by the other kinds. */
  tau?: number;
}

const OFFICIAL_NAMES: Record<string, GateKind> = {
  geretanh: 'geReTanH',
  retanh: 'reTanH',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
};

/** Accepts dynhead's names and the official code's class names (GeReTanH, ReTanH, Sigmoid). */
export function parseGateKind(name: string): GateKind {
  const kind = OFFICIAL_NAMES[name.toLowerCase()];
  if (!kind) throw new Error(`unknown gate activation '${name}'; expected one of ${Object.values(OFFICIAL_NAMES).join(', ')}`);
  return kind;
}

/**
 * The activation as a function of the gate conv's output and, optionally, its bias (one value,
 * added first: GeReTanH and ReTanH take it into their one inference kernel on webgpu).
 */
export function gateActivation(kind: GateKind, { tau = 1.5 }: GateOptions = {}): (x: tf.Tensor, bias?: tf.Tensor) => tf.Tensor {
  const plus = (x: tf.Tensor, bias?: tf.Tensor) => (bias ? tf.add(x, bias) : x);
  switch (kind) {
    case 'geReTanH':
      return (x, bias) => geReTanH(x, tau, bias);
    case 'reTanH':
      return (x, bias) => reTanH(x, bias);
    case 'sigmoid':
      return (x, bias) => sigmoidGate(plus(x, bias));
    case 'softmax':
      return (x, bias) => softmaxGate(plus(x, bias));
  }
}

/**
 * The activation's inference form in WGSL, declaring `fn gateActivation(v : f32) -> f32` (v: the
 * conv's output plus its bias), for a conv program to apply before it writes: GeReTanH and ReTanH,
 * the same float32 steps as their webgpu kernel. undefined for the other kinds.
 */
export function gateActivationWgsl(kind: GateKind, { tau = 1.5 }: GateOptions = {}): string | undefined {
  if (kind === 'geReTanH') return geReTanHWgsl(tau);
  if (kind === 'reTanH') return geReTanHWgsl(0);
  return undefined;
}

/** True for activations with exact zeros, which the sparse inference path can skip. */
export function isSparseGate(kind: GateKind): boolean {
  return kind === 'geReTanH' || kind === 'reTanH';
}

/**
 * The gate conv's bias so that every gate starts at `initGate` (official default 0.99), as the
 * official code initialises it. Softmax gates split each pixel between paths, so a common bias of
 * 0 (equal shares) is the only meaningful start.
 */
export function gateBiasInit(kind: GateKind, { tau = 1.5, initGate = 0.99 }: GateOptions & { initGate?: number } = {}): number {
  if (!(initGate > 0 && initGate < 1)) throw new Error(`gateBiasInit: initGate must lie in (0, 1), got ${initGate}`);
  switch (kind) {
    case 'geReTanH':
      return 0.5 * Math.log((1 + initGate * Math.exp(2 * tau)) / (1 - initGate));
    case 'reTanH':
      return 0.5 * Math.log((1 + initGate) / (1 - initGate));
    case 'sigmoid':
      return Math.log(initGate / (1 - initGate));
    case 'softmax':
      return 0;
  }
}

// What the packed-pyramid tests share (not published).
import * as tf from '@tensorflow/tfjs-core';
import { TEST_BACKENDS } from '../../../test/backends';
import type { ConvActivation } from './few-output-conv';

/**
 * The test backends, webgpu first, so that a test process's first call into the package is
 * there: its kernels must register themselves (each test file runs in a process of its own).
 */
export const BACKENDS_WEBGPU_FIRST = [...TEST_BACKENDS.filter((b) => b === 'webgpu'), ...TEST_BACKENDS.filter((b) => b !== 'webgpu')];

/**
 * Levels whose widths are not multiples of the gate conv's 4 or 8 pixels a thread, so that a
 * thread's run of a row ends inside its level, down to a 1x1 level.
 */
export const PYRAMID_SIZES: [number, number][] = [
  [7, 10],
  [4, 5],
  [2, 3],
  [1, 1],
];

/** A gate-like activation with exact zeros (2 * max(v, 0)): both forms must place the kink alike. */
export const DOUBLED_RELU: ConvActivation = {
  wgsl: 'fn gateActivation(v : f32) -> f32 {\n  return 2.0 * max(v, 0.0);\n}',
  ops: (conv, bias) => tf.mul(tf.relu(tf.add(conv, bias)), 2) as tf.Tensor4D,
};

/** A scale path's random weights (the depthwise conv, its GroupNorm, its gate) for C channels. */
export interface ScalePathValues {
  filter: number[];
  bias: number[];
  gamma: number[];
  beta: number[];
  gateFilter: number[];
  gateBias: number;
}

export function scalePathValues(rand: (lo?: number, hi?: number) => number, c: number): ScalePathValues {
  return {
    filter: Array.from({ length: 9 * c }, () => rand(-0.5, 0.5)),
    bias: Array.from({ length: c }, () => rand(-0.2, 0.2)),
    gamma: Array.from({ length: c }, () => rand(0.5, 1.5)),
    beta: Array.from({ length: c }, () => rand(-0.5, 0.5)),
    gateFilter: Array.from({ length: 9 * c }, () => rand(-0.3, 0.3)),
    gateBias: rand(-0.1, 0.1),
  };
}

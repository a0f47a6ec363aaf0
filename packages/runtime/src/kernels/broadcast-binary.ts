import * as tf from '@tensorflow/tfjs-core';
import { backendOf, inputsOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

export type BroadcastOp = 'Add' | 'Sub' | 'Multiply' | 'RealDiv';

/**
 * The strides of `shape` over `out` (both of rank out.length after left-padding with 1s), with 0
 * along every axis where `shape` has 1 and `out` does not: the broadcast reads the same value.
 */
function broadcastStrides(shape: number[], out: number[]): number[] {
  const padded = [...new Array(out.length - shape.length).fill(1), ...shape];
  const strides = new Array(out.length).fill(0);
  let step = 1;
  for (let d = out.length - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 && out[d] !== 1 ? 0 : step;
    step *= padded[d];
  }
  return strides;
}

/** One output row of `n` values: a[ai + i*sa] op b[bi + i*sb]. */
function row(op: BroadcastOp, a: Float32Array, ai: number, sa: number, b: Float32Array, bi: number, sb: number, out: Float32Array, o: number, n: number): void {
  switch (op) {
    case 'Add':
      for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] + b[bi + i * sb];
      break;
    case 'Sub':
      for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] - b[bi + i * sb];
      break;
    case 'Multiply':
      for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] * b[bi + i * sb];
      break;
    case 'RealDiv':
      for (let i = 0; i < n; i++) out[o + i] = a[ai + i * sa] / b[bi + i * sb];
      break;
  }
}

/**
 * `a op b` with numpy broadcasting over float32 values, a row of the last axis at a time, each
 * operand walked with its own strides (0 along broadcast axes).
 */
export function broadcastBinary(op: BroadcastOp, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[]): { values: Float32Array; shape: number[] } {
  const shape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const size = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  if (size === 0) return { values: out, shape };
  const rank = shape.length;
  if (rank === 0) {
    row(op, a, 0, 0, b, 0, 0, out, 0, 1);
    return { values: out, shape };
  }
  const sa = broadcastStrides(aShape, shape);
  const sb = broadcastStrides(bShape, shape);
  const n = shape[rank - 1];
  const rows = size / n;
  const at = new Array(rank - 1).fill(0);
  let ai = 0;
  let bi = 0;
  for (let r = 0; r < rows; r++) {
    row(op, a, ai, sa[rank - 1], b, bi, sb[rank - 1], out, r * n, n);
    // odometer over the outer axes
    for (let d = rank - 2; d >= 0; d--) {
      at[d]++;
      ai += sa[d];
      bi += sb[d];
      if (at[d] < shape[d]) break;
      ai -= sa[d] * shape[d];
      bi -= sb[d] * shape[d];
      at[d] = 0;
    }
  }
  return { values: out, shape };
}

/**
 * tfjs-backend-cpu's binary ops turn every output index into coordinates and back when the shapes
 * differ, which makes `x * scalarWeight` ([1]) or `map * gate` ([B,H,W,1]) 7-15x slower than the same
 * op on equal shapes (115-125 ms against 8-18 ms for 1M values); on equal shapes they still take a
 * modulo per operand and value. `broadcastBinary` does either in 4-6 ms. float32 operands only;
 * other dtypes (int32 index arithmetic, complex) stay with the built-in kernel.
 */
export function broadcastBinaryConfig(op: BroadcastOp, builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: op,
    backendName: 'cpu',
    kernelFunc: (args: KernelArgs) => {
      const { a, b } = inputsOf(args, op, 'a', 'b');
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return builtin.kernelFunc(args);
      const backend = backendOf(args);
      const { values, shape } = broadcastBinary(op, readValues(backend, a) as Float32Array, a.shape, readValues(backend, b) as Float32Array, b.shape);
      return writeOutput(backend, shape, 'float32', values);
    },
  };
}

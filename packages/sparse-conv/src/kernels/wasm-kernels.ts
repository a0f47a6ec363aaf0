import * as tf from '@tensorflow/tfjs-core';
import { GATED_RESIDUAL_ROWS, GROUP_NORM_ROWS, type GatedResidualInputs, type GroupNormRowsAttrs, type GroupNormRowsInputs, type Im2ColAttrs, SCATTER_ROWS, SPARSE_DEPTHWISE, SPARSE_IM2COL, type ScatterRowsAttrs } from './kernel-names';
import { groupNormLoop } from './group-norm-loop';
import { depthwiseRows, gatedResidualRows, im2colRows, scatterRowsInto } from './row-loops';

/** The slice of BackendWasm these kernels use (no dependency on the backend package). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

// Outputs are allocated BEFORE taking heap views: an allocation may grow the heap and detach them.
export function registerWasmKernels(): void {
  tf.registerKernel({
    kernelName: SPARSE_IM2COL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackend;
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { kernel } = attrs as unknown as Im2ColAttrs;
      const [, h, w, c] = x.shape;
      const out = b.makeOutput([indices.shape[0], kernel * kernel * c], 'float32');
      const win = { height: h, width: w, channels: c, kernel };
      im2colRows(b.typedArrayFromHeap(x) as Float32Array, b.typedArrayFromHeap(indices) as Int32Array, win, b.typedArrayFromHeap(out) as Float32Array);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: SPARSE_DEPTHWISE,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackend;
      const { x, indices, filter } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo; filter: tf.TensorInfo };
      const { kernel } = attrs as unknown as Im2ColAttrs;
      const [, h, w, c] = x.shape;
      const out = b.makeOutput([indices.shape[0], c], 'float32');
      const outView = b.typedArrayFromHeap(out) as Float32Array;
      outView.fill(0);
      const win = { height: h, width: w, channels: c, kernel };
      const xs = b.typedArrayFromHeap(x) as Float32Array;
      depthwiseRows(xs, b.typedArrayFromHeap(indices) as Int32Array, b.typedArrayFromHeap(filter) as Float32Array, win, outView);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: SCATTER_ROWS,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackend;
      const { rows, indices } = inputs as { rows: tf.TensorInfo; indices: tf.TensorInfo };
      const { outShape } = attrs as unknown as ScatterRowsAttrs;
      const out = b.makeOutput(outShape, 'float32');
      const outView = b.typedArrayFromHeap(out) as Float32Array;
      outView.fill(0);
      scatterRowsInto(b.typedArrayFromHeap(rows) as Float32Array, b.typedArrayFromHeap(indices) as Int32Array, outShape[3], outView);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_ROWS,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackend;
      const { x, gamma, beta, bias, rowScale } = inputs as GroupNormRowsInputs;
      const { counts, groups, eps, relu } = attrs as unknown as GroupNormRowsAttrs;
      const out = b.makeOutput(x.shape, 'float32');
      const f32 = (t: tf.TensorInfo | undefined) => (t ? (b.typedArrayFromHeap(t) as Float32Array) : null);
      const channels = x.shape[x.shape.length - 1];
      const loop = { counts, channels, groups, eps, relu, gamma: f32(gamma) as Float32Array, beta: f32(beta) as Float32Array };
      groupNormLoop(f32(x) as Float32Array, { ...loop, bias: f32(bias), rowScale: f32(rowScale) }, f32(out) as Float32Array);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: GATED_RESIDUAL_ROWS,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as WasmBackend;
      const { rows, indices, gate, input } = inputs as GatedResidualInputs;
      const out = b.makeOutput(input.shape, 'float32');
      const f32 = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;
      gatedResidualRows(f32(rows), b.typedArrayFromHeap(indices) as Int32Array, f32(gate), f32(input), input.shape[3], f32(out));
      return out;
    },
  });
}

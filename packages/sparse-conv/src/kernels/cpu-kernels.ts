import * as tf from '@tensorflow/tfjs-core';
import { GATED_RESIDUAL_ROWS, GROUP_NORM_ROWS, type GatedResidualInputs, type GroupNormRowsAttrs, type GroupNormRowsInputs, type Im2ColAttrs, SCATTER_ROWS, SPARSE_CONV_ROWS, SPARSE_DEPTHWISE, SPARSE_IM2COL, type ScatterRowsAttrs } from './kernel-names';
import { groupNormLoop } from './group-norm-loop';
import { convRows, depthwiseRows, gatedResidualRows, im2colRows, scatterRowsInto } from './row-loops';

/** The slice of MathBackendCPU these kernels use (no dependency on the backend package). */
interface CpuBackend {
  data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

const vals = (b: CpuBackend, t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array | Int32Array;

export function registerCpuKernels(): void {
  tf.registerKernel({
    kernelName: SPARSE_IM2COL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as CpuBackend;
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { kernel } = attrs as unknown as Im2ColAttrs;
      const [, h, w, c] = x.shape;
      const n = indices.shape[0];
      const out = new Float32Array(n * kernel * kernel * c);
      im2colRows(vals(b, x) as Float32Array, vals(b, indices) as Int32Array, { height: h, width: w, channels: c, kernel }, out);
      return b.makeTensorInfo([n, kernel * kernel * c], 'float32', out);
    },
  });
  // On cpu a direct loop beats im2col + tfjs-cpu's matMul (about 1.6x in process CPU time).
  tf.registerKernel({
    kernelName: SPARSE_CONV_ROWS,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as CpuBackend;
      const { x, indices, filter } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo; filter: tf.TensorInfo };
      const [, h, w, c] = x.shape;
      const [kernel, , , cout] = filter.shape;
      const n = indices.shape[0];
      const out = new Float32Array(n * cout);
      const win = { height: h, width: w, channels: c, kernel };
      convRows(vals(b, x) as Float32Array, vals(b, indices) as Int32Array, vals(b, filter) as Float32Array, win, cout, out);
      return b.makeTensorInfo([n, cout], 'float32', out);
    },
  });
  tf.registerKernel({
    kernelName: SPARSE_DEPTHWISE,
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as CpuBackend;
      const { x, indices, filter } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo; filter: tf.TensorInfo };
      const { kernel } = attrs as unknown as Im2ColAttrs;
      const [, h, w, c] = x.shape;
      const n = indices.shape[0];
      const out = new Float32Array(n * c);
      const win = { height: h, width: w, channels: c, kernel };
      depthwiseRows(vals(b, x) as Float32Array, vals(b, indices) as Int32Array, vals(b, filter) as Float32Array, win, out);
      return b.makeTensorInfo([n, c], 'float32', out);
    },
  });
  tf.registerKernel({
    kernelName: SCATTER_ROWS,
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as CpuBackend;
      const { rows, indices } = inputs as { rows: tf.TensorInfo; indices: tf.TensorInfo };
      const { outShape } = attrs as unknown as ScatterRowsAttrs;
      const c = outShape[3];
      const out = new Float32Array(outShape[0] * outShape[1] * outShape[2] * c);
      scatterRowsInto(vals(b, rows) as Float32Array, vals(b, indices) as Int32Array, c, out);
      return b.makeTensorInfo(outShape, 'float32', out);
    },
  });
  tf.registerKernel({
    kernelName: GROUP_NORM_ROWS,
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as CpuBackend;
      const { x, gamma, beta, bias, rowScale } = inputs as GroupNormRowsInputs;
      const { counts, groups, eps, relu } = attrs as unknown as GroupNormRowsAttrs;
      const out = new Float32Array(tf.util.sizeFromShape(x.shape));
      const channels = x.shape[x.shape.length - 1];
      const f32 = (t: tf.TensorInfo | undefined) => (t ? (vals(b, t) as Float32Array) : null);
      const loop = { counts, channels, groups, eps, relu, gamma: f32(gamma) as Float32Array, beta: f32(beta) as Float32Array };
      groupNormLoop(f32(x) as Float32Array, { ...loop, bias: f32(bias), rowScale: f32(rowScale) }, out);
      return b.makeTensorInfo(x.shape, 'float32', out);
    },
  });
  tf.registerKernel({
    kernelName: GATED_RESIDUAL_ROWS,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as CpuBackend;
      const { rows, indices, gate, input } = inputs as GatedResidualInputs;
      const out = new Float32Array(tf.util.sizeFromShape(input.shape));
      const f32 = (t: tf.TensorInfo) => vals(b, t) as Float32Array;
      gatedResidualRows(f32(rows), vals(b, indices) as Int32Array, f32(gate), f32(input), input.shape[3], out);
      return b.makeTensorInfo(input.shape, 'float32', out);
    },
  });
}

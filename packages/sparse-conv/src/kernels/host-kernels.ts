import * as tf from '@tensorflow/tfjs-core';
import { blendResizedLoop, resizeTable } from './blend-loop';
import { groupNormLoop } from './group-norm-loop';
import { groupNormTrainBackward, groupNormTrainForward, type MeanRounding } from './group-norm-train-loop';
import {
  BLEND_RESIZED,
  type BlendResizedAttrs,
  CONV3X3_FEW,
  DEPTHWISE_NORM_EACH,
  type DepthwiseNormEachAttrs,
  type BlendResizedInputs,
  GATE_SUMS,
  type GateSumsAttrs,
  GATED_RESIDUAL_ROWS,
  GROUP_NORM_ROWS,
  GROUP_NORM_TRAIN,
  GROUP_NORM_TRAIN_GRAD,
  type GatedResidualInputs,
  type GroupNormTrainAttrs,
  type GroupNormRowsAttrs,
  type GroupNormRowsInputs,
  type Im2ColAttrs,
  type Im2ColFromRowsAttrs,
  SPARSE_IM2COL_FROM_ROWS,
  SCATTER_ROWS,
  SPARSE_CONV_ROWS,
  SPARSE_DEPTHWISE,
  SPARSE_IM2COL,
  type ScatterRowsAttrs,
  readNumberedInputs,
} from './kernel-names';
import { blendResizedSimd, conv3x3FewSimd, depthwiseNormEachSimd, im2colFromRowsSimd, gatedResidualSimd, groupNormRowsSimd, im2colSimd, type SimdKernel, scatterRowsSimd } from './simd/wasm-simd-kernels';
import { convRows, depthwiseRows, gatedResidualRows, im2colRows, scatterRowsInto } from './row-loops';

/**
 * How a loop kernel reaches the data of a backend that keeps it in host memory: cpu's JS arrays or
 * views of wasm's heap. Kernels allocate their output FIRST, then read: a wasm allocation may grow
 * the heap and detach the views taken before it.
 */
export interface HostMemory {
  /** A new float32 tensor and a view of its values (zeroed when asked). */
  output(shape: number[], zeroed: boolean): { info: tf.TensorInfo; values: Float32Array };
  read(t: tf.TensorInfo): Float32Array | Int32Array;
}

type HostKernel = (mem: HostMemory, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo | tf.TensorInfo[];

const f32 = (mem: HostMemory, t: tf.TensorInfo) => mem.read(t) as Float32Array;
const i32 = (mem: HostMemory, t: tf.TensorInfo) => mem.read(t) as Int32Array;

const im2col: HostKernel = (mem, inputs, attrs) => {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { kernel } = attrs as unknown as Im2ColAttrs;
  const [, height, width, channels] = x.shape;
  const out = mem.output([indices.shape[0], kernel * kernel * channels], false);
  im2colRows(f32(mem, x), i32(mem, indices), { height, width, channels, kernel }, out.values);
  return out.info;
};

const depthwise: HostKernel = (mem, inputs, attrs) => {
  const { x, indices, filter } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo; filter: tf.TensorInfo };
  const { kernel } = attrs as unknown as Im2ColAttrs;
  const [, height, width, channels] = x.shape;
  const out = mem.output([indices.shape[0], channels], true);
  depthwiseRows(f32(mem, x), i32(mem, indices), f32(mem, filter), { height, width, channels, kernel }, out.values);
  return out.info;
};

const scatter: HostKernel = (mem, inputs, attrs) => {
  const { rows, indices } = inputs as { rows: tf.TensorInfo; indices: tf.TensorInfo };
  const { outShape } = attrs as unknown as ScatterRowsAttrs;
  const out = mem.output(outShape, true);
  scatterRowsInto(f32(mem, rows), i32(mem, indices), outShape[3], out.values);
  return out.info;
};

const groupNormRows: HostKernel = (mem, inputs, attrs) => {
  const { x, gamma, beta, bias, rowScale } = inputs as GroupNormRowsInputs;
  const { counts, groups, eps, relu } = attrs as unknown as GroupNormRowsAttrs;
  const out = mem.output(x.shape, false);
  const optional = (t: tf.TensorInfo | undefined) => (t ? f32(mem, t) : null);
  const channels = x.shape[x.shape.length - 1];
  const loop = { counts, channels, groups, eps, relu, gamma: f32(mem, gamma), beta: f32(mem, beta), bias: optional(bias), rowScale: optional(rowScale) };
  groupNormLoop(f32(mem, x), loop, out.values);
  return out.info;
};

const gatedResidual: HostKernel = (mem, inputs) => {
  const { rows, indices, gate, input } = inputs as GatedResidualInputs;
  const out = mem.output(input.shape, false);
  gatedResidualRows(f32(mem, rows), i32(mem, indices), f32(mem, gate), f32(mem, input), input.shape[3], out.values);
  return out.info;
};

// On cpu a direct loop beats im2col + tfjs-cpu's matMul (about 1.6x in process CPU time); on wasm
// im2col + XNNPACK's matMul wins, so wasm has no SPARSE_CONV_ROWS.
const convRowsKernel: HostKernel = (mem, inputs) => {
  const { x, indices, filter } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo; filter: tf.TensorInfo };
  const [, height, width, channels] = x.shape;
  const [kernel, , , cout] = filter.shape;
  const out = mem.output([indices.shape[0], cout], false);
  convRows(f32(mem, x), i32(mem, indices), f32(mem, filter), { height, width, channels, kernel }, cout, out.values);
  return out.info;
};

const blendResized: HostKernel = (mem, inputs, attrs) => {
  const { x, xWeight, sourceWeight, a, b } = inputs as BlendResizedInputs;
  const { alignCorners } = attrs as unknown as BlendResizedAttrs;
  const [, h, w] = x.shape;
  const out = mem.output(x.shape, false);
  const sources = [a, b].filter((s): s is tf.TensorInfo => s !== undefined).map((s) => ({ data: f32(mem, s), plane: s.shape[1] * s.shape[2] * s.shape[3], table: resizeTable(s.shape, h, w, alignCorners) }));
  blendResizedLoop(f32(mem, x), x.shape, f32(mem, xWeight)[0], sourceWeight ? f32(mem, sourceWeight)[0] : 1, sources, out.values);
  return out.info;
};

/** The 3x3 max-pool ('same', stride 1) of an h x w plane starting at `base`, at pixel p of it. */
function maxPool3x3At(g: Float32Array, base: number, h: number, w: number, p: number): number {
  const y = Math.floor(p / w);
  const x = p - y * w;
  let m = -Infinity;
  for (let yy = Math.max(y - 1, 0); yy <= Math.min(y + 1, h - 1); yy++) {
    for (let xx = Math.max(x - 1, 0); xx <= Math.min(x + 1, w - 1); xx++) m = Math.max(m, g[base + yy * w + xx]);
  }
  return m;
}

const gateSums: HostKernel = (mem, inputs, attrs) => {
  const { units, pooled = [], byColumn = false } = attrs as unknown as GateSumsAttrs;
  const maps = readNumberedInputs(inputs, 'gate');
  const batch = maps[0].shape[0];
  const out = mem.output(byColumn ? [2, batch] : [batch, 2], false);
  const [softAt, usedAt] = byColumn ? [(b: number) => b, (b: number) => batch + b] : [(b: number) => 2 * b, (b: number) => 2 * b + 1];
  for (let b = 0; b < batch; b++) {
    // float64 sums, each map's weighted once: the costs as exact as their float32 values allow
    let soft = 0;
    let used = 0;
    for (const [j, map] of maps.entries()) {
      const g = f32(mem, map);
      const [, h, w] = map.shape;
      const at = pooled[j] ? (p: number) => maxPool3x3At(g, b * h * w, h, w, p - b * h * w) : (p: number) => g[p];
      let sum = 0;
      let count = 0;
      for (let p = b * h * w; p < (b + 1) * h * w; p++) {
        const v = at(p);
        sum += v;
        if (v !== 0) count++;
      }
      soft += units[j] * sum;
      used += units[j] * count;
    }
    out.values[softAt(b)] = soft;
    out.values[usedAt(b)] = used;
  }
  return out.info;
};

/** [B,H,W,C] as the loops' shape. */
function trainShape(x: tf.TensorInfo, groups: number) {
  const [batch, h, w, channels] = x.shape;
  return { batch, pixels: h * w, channels, groups };
}

/** Training GroupNorm, rounding as the backend's own Mean kernel does (group-norm-train-loop.ts). */
const groupNormTrain =
  (rounding: MeanRounding): HostKernel =>
  (mem, inputs, attrs) => {
    const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
    const { groups, eps } = attrs as unknown as GroupNormTrainAttrs;
    // both outputs first, then every view (a wasm allocation may detach views taken before it)
    const y = mem.output(x.shape, false).info;
    const stats = mem.output([x.shape[0], groups, 2], false).info;
    groupNormTrainForward(f32(mem, x), f32(mem, gamma), f32(mem, beta), eps, trainShape(x, groups), rounding, f32(mem, y), f32(mem, stats));
    return [y, stats];
  };

const groupNormTrainGrad: HostKernel = (mem, inputs, attrs) => {
  const { dy, x, gamma, stats } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; gamma: tf.TensorInfo; stats: tf.TensorInfo };
  const { groups } = attrs as unknown as GroupNormTrainAttrs;
  const dx = mem.output(x.shape, false).info;
  const dGamma = mem.output(gamma.shape, false).info;
  const dBeta = mem.output(gamma.shape, false).info;
  groupNormTrainBackward(f32(mem, dy), f32(mem, x), f32(mem, gamma), f32(mem, stats), trainShape(x, groups), f32(mem, dx), f32(mem, dGamma), f32(mem, dBeta));
  return [dx, dGamma, dBeta];
};

const SHARED: Record<string, HostKernel> = {
  [GATE_SUMS]: gateSums,
  [BLEND_RESIZED]: blendResized,
  [SPARSE_IM2COL]: im2col,
  [SPARSE_DEPTHWISE]: depthwise,
  [SCATTER_ROWS]: scatter,
  [GROUP_NORM_ROWS]: groupNormRows,
  [GROUP_NORM_TRAIN_GRAD]: groupNormTrainGrad,
  [GATED_RESIDUAL_ROWS]: gatedResidual,
};

/** The slice of MathBackendCPU used here (no dependency on the backend package). */
interface CpuBackend {
  data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** The slice of BackendWasm used here. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

function cpuMemory(backend: tf.KernelBackend): HostMemory {
  const b = backend as unknown as CpuBackend;
  return {
    // the cpu backend keeps the array it is given, so filling it after makeTensorInfo is seen
    output: (shape) => {
      const values = new Float32Array(tf.util.sizeFromShape(shape));
      return { info: b.makeTensorInfo(shape, 'float32', values), values };
    },
    read: (t) => b.data.get(t.dataId).values as Float32Array | Int32Array,
  };
}

function wasmMemory(backend: tf.KernelBackend): HostMemory {
  const b = backend as unknown as WasmBackend;
  return {
    output: (shape, zeroed) => {
      const info = b.makeOutput(shape, 'float32');
      const values = b.typedArrayFromHeap(info) as Float32Array;
      if (zeroed) values.fill(0);
      return { info, values };
    },
    read: (t) => b.typedArrayFromHeap(t),
  };
}

function register(backendName: string, memory: (backend: tf.KernelBackend) => HostMemory, kernels: Record<string, HostKernel>, simd: Record<string, SimdKernel> = {}): void {
  for (const [kernelName, kernel] of Object.entries(kernels)) {
    const fast = simd[kernelName];
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs, backend }) => (fast ? fast(backend, inputs, attrs ?? {}) : null) ?? kernel(memory(backend as tf.KernelBackend), inputs, attrs ?? {}),
    });
  }
}

/** wasm: the same loops in WebAssembly SIMD where the backend allows (see simd/host-loops.ts). */
const WASM_SIMD: Record<string, SimdKernel> = {
  [BLEND_RESIZED]: blendResizedSimd,
  [SPARSE_IM2COL]: im2colSimd,
  [SCATTER_ROWS]: scatterRowsSimd,
  [GROUP_NORM_ROWS]: groupNormRowsSimd,
  [GATED_RESIDUAL_ROWS]: gatedResidualSimd,
};

/** The loop kernels of the host-memory backends: cpu (with its direct sparse conv) and wasm. */
export function registerHostKernels(): void {
  register('cpu', cpuMemory, { ...SHARED, [SPARSE_CONV_ROWS]: convRowsKernel, [GROUP_NORM_TRAIN]: groupNormTrain('float64-sum-of-scaled') });
  register('wasm', wasmMemory, { ...SHARED, [GROUP_NORM_TRAIN]: groupNormTrain('float32-running-sum') }, WASM_SIMD);
  // SIMD only: callers check hasSimdLoops() first (few-output-conv.ts, depthwise-norm-each.ts, sparse-conv2d.ts)
  tf.registerKernel({
    kernelName: SPARSE_IM2COL_FROM_ROWS,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const out = im2colFromRowsSimd(backend, inputs, attrs as unknown as Im2ColFromRowsAttrs);
      if (!out) throw new Error(`${SPARSE_IM2COL_FROM_ROWS}: needs the WebAssembly SIMD loops and channels a multiple of 4, got rows [${inputs.rows?.shape.join(',')}]`);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: DEPTHWISE_NORM_EACH,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const out = depthwiseNormEachSimd(backend, inputs, attrs as unknown as DepthwiseNormEachAttrs);
      if (!out) throw new Error(`${DEPTHWISE_NORM_EACH}: needs the WebAssembly SIMD loops and channels per group a multiple of 4, got x [${inputs.x?.shape.join(',')}]`);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: CONV3X3_FEW,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const out = conv3x3FewSimd(backend, inputs);
      if (!out) throw new Error(`${CONV3X3_FEW}: needs the WebAssembly SIMD loops and input channels a multiple of 4, got x [${inputs.x?.shape.join(',')}]`);
      return out;
    },
  });
}

import type * as tf from '@tensorflow/tfjs-core';
import { resizeTable } from '../blend-loop';
import { type BlendResizedAttrs, type BlendResizedInputs, type DepthwiseNormEachAttrs, type GatedResidualInputs, type Im2ColFromRowsAttrs, type GroupNormRowsAttrs, type GroupNormRowsInputs, type Im2ColAttrs, readNumberedInputs, type ScatterRowsAttrs } from '../kernel-names';
import { type HostLoops, hostLoops, type WasmHeapBackend } from './host-loops';

/**
 * The wasm backend's row kernels as WebAssembly SIMD over its own heap: 5-8x faster than the
 * JavaScript loops on the same views. Each returns null where it does not apply (no SIMD module for
 * this backend, or channels not a multiple of 4) and the caller runs the JavaScript loop instead.
 */
export type SimdKernel = (backend: object, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo | tf.TensorInfo[] | null;

const F32 = 4;

/**
 * GroupNorm of one group, channels [from, to), from the group's sum and sum of squares of x + bias
 * over `count` values, as gn_affine takes it: per channel the centre mean - bias rounded to float32,
 * the rest of it (shift; the centred value keeps its digits when the mean is far from zero), and
 * gamma / std.
 */
function groupAffine(sum: number, sumSq: number, count: number, eps: number, from: number, to: number, bias: Float32Array | null, gamma: Float32Array, centre: Float32Array, shift: Float32Array, scale: Float32Array): void {
  const mean = sum / count;
  const inv = 1 / Math.sqrt(Math.max(0, sumSq / count - mean * mean) + eps);
  for (let ch = from; ch < to; ch++) {
    const exact = bias ? mean - bias[ch] : mean;
    centre[ch] = exact;
    shift[ch] = centre[ch] - exact;
    scale[ch] = gamma[ch] * inv;
  }
}

function setUp(backend: object, channels: number): { loops: HostLoops; b: WasmHeapBackend } | null {
  if (channels % 4 !== 0) return null;
  const loops = hostLoops(backend);
  return loops ? { loops, b: backend as WasmHeapBackend } : null;
}

export const groupNormRowsSimd: SimdKernel = (backend, inputs, attrs) => {
  const { x, gamma, beta, bias, rowScale } = inputs as GroupNormRowsInputs;
  const { counts, groups, eps, relu } = attrs as unknown as GroupNormRowsAttrs;
  const c = x.shape[x.shape.length - 1];
  const cg = c / groups;
  const env = cg % 4 === 0 ? setUp(backend, c) : null;
  if (!env) return null;
  const { loops, b } = env;
  const out = b.makeOutput(x.shape, 'float32');
  // scratch: 4 doubles per group (two lanes of each sum), then mean, shift, scale and a zero bias, C floats each
  const accBytes = groups * 4 * 8;
  const scratch = loops.malloc(accBytes + 4 * c * F32);
  try {
    // views only after the last allocation: an allocation may grow (and detach) the heap
    const buffer = loops.memory.buffer;
    const acc = new Float64Array(buffer, scratch, groups * 4);
    const meanPtr = scratch + accBytes;
    const shiftPtr = meanPtr + c * F32;
    const scalePtr = shiftPtr + c * F32;
    const zeroPtr = scalePtr + c * F32;
    const meanV = new Float32Array(buffer, meanPtr, c);
    const shift = new Float32Array(buffer, shiftPtr, c);
    const scale = new Float32Array(buffer, scalePtr, c);
    new Float32Array(buffer, zeroPtr, c).fill(0);
    const biasPtr = bias ? loops.ptr(bias) : zeroPtr;
    const biasV = new Float32Array(buffer, biasPtr, c);
    const gammaV = new Float32Array(buffer, loops.ptr(gamma), c);
    const betaPtr = loops.ptr(beta);
    const xPtr = loops.ptr(x);
    const outPtr = loops.ptr(out);
    const rowScalePtr = rowScale ? loops.ptr(rowScale) : 0;
    let start = 0;
    for (const rows of counts) {
      if (rows > 0) {
        acc.fill(0);
        loops.fn.gn_stats(xPtr + start * c * F32, rows, c, cg, biasPtr, scratch);
        for (let g = 0; g < groups; g++) {
          groupAffine(acc[4 * g] + acc[4 * g + 1], acc[4 * g + 2] + acc[4 * g + 3], rows * cg, eps, g * cg, (g + 1) * cg, biasV, gammaV, meanV, shift, scale);
        }
        const rs = rowScale ? rowScalePtr + start * F32 : 0;
        loops.fn.gn_affine(xPtr + start * c * F32, rows, c, meanPtr, shiftPtr, scalePtr, betaPtr, rs, relu ? 1 : 0, outPtr + start * c * F32);
      }
      start += rows;
    }
  } finally {
    loops.free(scratch);
  }
  return out;
};

export const gatedResidualSimd: SimdKernel = (backend, inputs) => {
  const { rows, indices, gate, input } = inputs as GatedResidualInputs;
  const c = input.shape[3];
  const env = setUp(backend, c);
  if (!env) return null;
  const { loops, b } = env;
  const out = b.makeOutput(input.shape, 'float32');
  const filters = readNumberedInputs(inputs, 'filter');
  if (filters.length === 0) {
    const total = input.shape.reduce((a, d) => a * d, 1);
    loops.fn.gated_residual(loops.ptr(rows), loops.ptr(indices), indices.shape[0], loops.ptr(gate), loops.ptr(input), total, c, loops.ptr(out));
    return out;
  }
  // with filter0..: the convs of the output, taken pixel by pixel as it is written (indices ascending)
  const [batch, h, w] = input.shape;
  const convs = filters.map(() => b.makeOutput([batch, h, w, 1], 'float32'));
  const gates = gateConvScratch(loops, filters, convs, h, w, c);
  try {
    loops.fn.gated_residual_taps(loops.ptr(rows), loops.ptr(indices), indices.shape[0], loops.ptr(gate), loops.ptr(input), batch, h, w, c, loops.ptr(out), filters.length, gates.packed, gates.z, gates.outPtrs);
  } finally {
    gates.free();
  }
  return [out, ...convs];
};

export const im2colSimd: SimdKernel = (backend, inputs, attrs) => {
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { kernel } = attrs as unknown as Im2ColAttrs;
  const [, h, w, c] = x.shape;
  const env = setUp(backend, c);
  if (!env) return null;
  const { loops, b } = env;
  const n = indices.shape[0];
  const out = b.makeOutput([n, kernel * kernel * c], 'float32');
  loops.fn.im2col_rows(loops.ptr(x), loops.ptr(indices), n, h, w, c, kernel, loops.ptr(out));
  return out;
};

export const scatterRowsSimd: SimdKernel = (backend, inputs, attrs) => {
  const { rows, indices } = inputs as { rows: tf.TensorInfo; indices: tf.TensorInfo };
  const { outShape } = attrs as unknown as ScatterRowsAttrs;
  const c = outShape[outShape.length - 1];
  const env = setUp(backend, c);
  if (!env) return null;
  const { loops, b } = env;
  const out = b.makeOutput(outShape, 'float32');
  const total = outShape.reduce((a, d) => a * d, 1);
  loops.fn.scatter_rows(loops.ptr(rows), loops.ptr(indices), indices.shape[0], c, total, loops.ptr(out));
  return out;
};

/** Scratch for k gate convs over an h x w image: taps z (k * h * w * 9), packed filters (k * 9 * c), output pointers (k). */
function gateConvScratch(loops: HostLoops, filters: tf.TensorInfo[], outs: tf.TensorInfo[], h: number, w: number, c: number): { z: number; packed: number; outPtrs: number; free: () => void } {
  const k = filters.length;
  const zFloats = k * h * w * 9;
  const scratch = loops.malloc((zFloats + k * 9 * c) * F32 + k * 4);
  const buffer = loops.memory.buffer;
  const packed = scratch + zFloats * F32;
  const outPtrs = packed + k * 9 * c * F32;
  for (const [j, f] of filters.entries()) new Float32Array(buffer, packed + j * 9 * c * F32, 9 * c).set(new Float32Array(buffer, loops.ptr(f), 9 * c));
  new Int32Array(buffer, outPtrs, k).set(outs.map((o) => loops.ptr(o)));
  return { z: scratch, packed, outPtrs, free: () => loops.free(scratch) };
}

/** BLEND_RESIZED; with inputs filter0.. also the gate convs of the output: [out, conv0, ...]. */
export function blendResizedSimd(backend: object, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo | tf.TensorInfo[] | null {
  const { x, xWeight, sourceWeight, a, b } = inputs as BlendResizedInputs;
  const { alignCorners } = attrs as unknown as BlendResizedAttrs;
  const [batch, h, w, c] = x.shape;
  const env = setUp(backend, c);
  if (!env) return null;
  const { loops, b: heap } = env;
  const filters = readNumberedInputs(inputs, 'filter');
  const out = heap.makeOutput(x.shape, 'float32');
  const gateOuts = filters.map(() => heap.makeOutput([batch, h, w, 1], 'float32'));
  const sources = [a, b].filter((s): s is tf.TensorInfo => s !== undefined);
  const tables = sources.map((s) => resizeTable(s.shape, h, w, alignCorners));
  // per source: its Source struct (6 x 4 bytes, see host-loops.c), then its tables; then sw = 1 when unweighted
  const tableBytes = (2 * h + h + 2 * w + w) * 4;
  const scratch = loops.malloc(2 * (24 + tableBytes) + 4);
  const gates = filters.length > 0 ? gateConvScratch(loops, filters, gateOuts, h, w, c) : null;
  try {
    const buffer = loops.memory.buffer;
    const structs: number[] = [];
    for (const [i, s] of sources.entries()) {
      const at = scratch + i * (24 + tableBytes);
      const t = tables[i];
      const rowOff = at + 24;
      const rowFrac = rowOff + 2 * h * 4;
      const colOff = rowFrac + h * 4;
      const colFrac = colOff + 2 * w * 4;
      new Int32Array(buffer, rowOff, 2 * h).set(t.rowOff);
      new Float32Array(buffer, rowFrac, h).set(t.rowFrac);
      new Int32Array(buffer, colOff, 2 * w).set(t.colOff);
      new Float32Array(buffer, colFrac, w).set(t.colFrac);
      new Int32Array(buffer, at, 6).set([loops.ptr(s), s.shape[1] * s.shape[2] * s.shape[3], rowOff, rowFrac, colOff, colFrac]);
      structs.push(at);
    }
    // an absent second source: a struct whose data pointer is 0
    if (structs.length === 1) {
      const at = scratch + 24 + tableBytes;
      new Int32Array(buffer, at, 6).fill(0);
      structs.push(at);
    }
    const one = scratch + 2 * (24 + tableBytes);
    new Float32Array(buffer, one, 1)[0] = 1;
    const k = filters.length;
    loops.fn.blend_resized(loops.ptr(x), batch, h, w, c, loops.ptr(xWeight), sourceWeight ? loops.ptr(sourceWeight) : one, structs[0], structs[1], loops.ptr(out), k, gates?.packed ?? 0, gates?.z ?? 0, gates?.outPtrs ?? 0);
  } finally {
    loops.free(scratch);
    gates?.free();
  }
  return filters.length > 0 ? [out, ...gateOuts] : out;
}

/** Inputs x, filter0 .. filter{k-1} (each [3, 3, C, 1]); outputs k maps [B, H, W, 1]. */
export function conv3x3FewSimd(backend: object, inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] | null {
  const x = inputs.x as tf.TensorInfo;
  const filters = readNumberedInputs(inputs, 'filter');
  const [batch, h, w, c] = x.shape;
  const env = setUp(backend, c);
  if (!env) return null;
  const { loops, b } = env;
  const outs = filters.map(() => b.makeOutput([batch, h, w, 1], 'float32'));
  const gates = gateConvScratch(loops, filters, outs, h, w, c);
  try {
    loops.fn.conv3x3_few(loops.ptr(x), batch, h, w, c, filters.length, gates.packed, gates.z, gates.outPtrs);
  } finally {
    gates.free();
  }
  return outs;
}

/**
 * Image size above which depthwiseNormEachSimd recomputes the convs where the gates are on instead
 * of storing them. Measured on a 2-core Xeon (L2 2 MiB per core): at 50x84x256 (4.3 MB) storing
 * is faster, at 100x168x256 (17 MB) recomputing.
 */
const RECOMPUTE_ABOVE_BYTES = 8 * 2 ** 20;

/** See DEPTHWISE_NORM_EACH; null where the SIMD loops do not apply. */
export function depthwiseNormEachSimd(backend: object, inputs: tf.NamedTensorInfoMap, attrs: DepthwiseNormEachAttrs): tf.TensorInfo[] | null {
  const x = inputs.x as tf.TensorInfo;
  const { layers: k, groups, eps } = attrs;
  const [batch, h, w, c] = x.shape;
  const cg = c / groups;
  const env = cg % 4 === 0 ? setUp(backend, c) : null;
  if (!env) return null;
  const { loops, b } = env;
  const input = (name: string, j: number) => inputs[`${name}${j}`] as tf.TensorInfo;
  const outs = Array.from({ length: k }, () => b.makeOutput(x.shape, 'float32'));
  const plane = h * w;
  // scratch: statistics (k x 4 doubles per 4-channel chunk), filters (k x 9c), biases (k x c),
  // mean / shift / scale (c each), output pointers (k)
  const chunks = c / 4;
  const accBytes = k * chunks * 4 * 8;
  const scratch = loops.malloc(accBytes + (k * 9 * c + k * c + 3 * c) * F32 + k * 4);
  try {
    const buffer = loops.memory.buffer;
    const acc = new Float64Array(buffer, scratch, k * chunks * 4);
    const filtersPtr = scratch + accBytes;
    const biasesPtr = filtersPtr + k * 9 * c * F32;
    const meanPtr = biasesPtr + k * c * F32;
    const shiftPtr = meanPtr + c * F32;
    const scalePtr = shiftPtr + c * F32;
    const outPtrsPtr = scalePtr + c * F32;
    for (let j = 0; j < k; j++) {
      new Float32Array(buffer, filtersPtr + j * 9 * c * F32, 9 * c).set(new Float32Array(buffer, loops.ptr(input('filter', j)), 9 * c));
      new Float32Array(buffer, biasesPtr + j * c * F32, c).set(new Float32Array(buffer, loops.ptr(input('bias', j)), c));
    }
    const meanV = new Float32Array(buffer, meanPtr, c);
    const shift = new Float32Array(buffer, shiftPtr, c);
    const scale = new Float32Array(buffer, scalePtr, c);
    const outPtrs = new Int32Array(buffer, outPtrsPtr, k);
    const imageBytes = plane * c * F32;
    for (let n = 0; n < batch; n++) {
      acc.fill(0);
      for (let j = 0; j < k; j++) outPtrs[j] = loops.ptr(outs[j]) + n * imageBytes;
      const xImage = loops.ptr(x) + n * imageBytes;
      // Maps too big for the cache: statistics only, then each output recomputed where its gate is
      // on (less memory moved); small maps: the conv outputs written once and normalized in place.
      const recompute = imageBytes > RECOMPUTE_ABOVE_BYTES;
      loops.fn.dw3x3_stats(xImage, h, w, c, k, filtersPtr, biasesPtr, recompute ? 0 : outPtrsPtr, scratch);
      for (let j = 0; j < k; j++) {
        const gamma = new Float32Array(buffer, loops.ptr(input('gamma', j)), c);
        for (let g = 0; g < groups; g++) {
          let sum = 0;
          let sumSq = 0;
          for (let at = (j * chunks + (g * cg) / 4) * 4; at < (j * chunks + ((g + 1) * cg) / 4) * 4; at += 4) {
            sum += acc[at] + acc[at + 1];
            sumSq += acc[at + 2] + acc[at + 3];
          }
          // the conv outputs include their bias already
          groupAffine(sum, sumSq, plane * cg, eps, g * cg, (g + 1) * cg, null, gamma, meanV, shift, scale);
        }
        const gate = inputs[`gate${j}`];
        const gatePtr = gate ? loops.ptr(gate) + n * plane * F32 : 0;
        const betaPtr = loops.ptr(input('beta', j));
        if (recompute) loops.fn.dw3x3_gated(xImage, h, w, c, filtersPtr + j * 9 * c * F32, biasesPtr + j * c * F32, meanPtr, shiftPtr, scalePtr, betaPtr, gatePtr, outPtrs[j]);
        // in place: the conv output becomes the normalized, gated path output
        else loops.fn.gn_affine(outPtrs[j], plane, c, meanPtr, shiftPtr, scalePtr, betaPtr, gatePtr, 0, outPtrs[j]);
      }
    }
  } finally {
    loops.free(scratch);
  }
  return outs;
}

/** SPARSE_IM2COL_FROM_ROWS: inputs rows [M, C], rowIndices [M] (ascending pixels), indices [N]. */
export function im2colFromRowsSimd(backend: object, inputs: tf.NamedTensorInfoMap, attrs: Im2ColFromRowsAttrs): tf.TensorInfo | null {
  const { rows, rowIndices, indices } = inputs as { rows: tf.TensorInfo; rowIndices: tf.TensorInfo; indices: tf.TensorInfo };
  const { kernel, mapShape } = attrs;
  const [batch, h, w] = mapShape;
  const c = rows.shape[1];
  const env = setUp(backend, c);
  if (!env) return null;
  const { loops, b } = env;
  const n = indices.shape[0];
  const out = b.makeOutput([n, kernel * kernel * c], 'float32');
  const pixels = batch * h * w;
  const rowOf = loops.malloc(pixels * 4);
  try {
    const buffer = loops.memory.buffer;
    const map = new Int32Array(buffer, rowOf, pixels).fill(-1);
    const listed = new Int32Array(buffer, loops.ptr(rowIndices), rowIndices.shape[0]);
    for (let r = 0; r < listed.length; r++) map[listed[r]] = r;
    loops.fn.im2col_from_rows(loops.ptr(rows), rowOf, loops.ptr(indices), n, h, w, c, kernel, loops.ptr(out));
  } finally {
    loops.free(rowOf);
  }
  return out;
}

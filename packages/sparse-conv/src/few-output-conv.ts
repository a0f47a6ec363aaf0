import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATED_GATE_CONV, type ActivatedGateConvAttrs, CONV3X3_FEW, namedFilters } from './kernels/kernel-names';
import { hasKernel, hasSimdLoops } from './kernels/register';
import { checkPacked, type PyramidLayout, packPyramid, stackedLayout, unpackPyramid } from './pyramid';
import { concatRows, splitRows } from './row-blocks';

/** 3x3 filters from `channels` (a multiple of 4, read as vec4s) to one channel: what the gate-conv kernels take. */
function gateFilters(channels: number, filters: tf.Tensor4D[]): boolean {
  return channels % 4 === 0 && filters.every((f) => f.shape[0] === 3 && f.shape[1] === 3 && f.shape[2] === channels && f.shape[3] === 1);
}

/**
 * webgpu: the gate conv kernel `name` as one program per filter (kernels/gate-conv-program.ts);
 * hasKernel registers this package's kernels, which no earlier call may have done.
 */
export function webgpuKernel(name: string, x: tf.Tensor4D, filters: tf.Tensor4D[]): boolean {
  return tf.getBackend() === 'webgpu' && gateFilters(x.shape[3], filters) && hasKernel(name);
}

/**
 * Backends where a 'same' 3x3 conv to a few channels is faster as one matMul plus a shift-and-sum:
 * a C->1 conv on a 100x167x256 map took 18 ms on wasm (XNNPACK) against 5 ms. On cpu, tf.conv2d
 * itself is faster once @dynhead/runtime has replaced its Conv2D (per-pixel dot products for one
 * output channel: 16 against 27 ms for this form on a 50x84x256 map).
 */
const MATMUL_BACKENDS = new Set(['wasm']);

/** Filters the wasm SIMD kernel takes in one pass (spatial gates: one, or two on the same input). */
const MAX_SIMD_FILTERS = 4;

/**
 * Whether the wasm SIMD loops take these 1 to 4 gate convs of a `channels`-channel map, alone
 * (CONV3X3_FEW) or along with the pass that writes the map (BLEND_RESIZED, GATED_RESIDUAL_ROWS).
 */
export function simdGateConvs(channels: number, filters: tf.Tensor4D[]): boolean {
  return filters.length > 0 && filters.length <= MAX_SIMD_FILTERS && gateFilters(channels, filters) && hasSimdLoops();
}

function conv3x3Few(x: tf.Tensor4D, filters: tf.Tensor4D[]): tf.Tensor4D[] {
  return tf.engine().runKernel(CONV3X3_FEW, { x, ...namedFilters(filters) }) as unknown as tf.Tensor4D[];
}

/** The 9 one-hot 3x3 filters that move tap t of a [B,H,W,9*k] map to the output pixel. */
function tapSelector(outChannels: number): tf.Tensor4D {
  const taps = new Float32Array(9 * 9 * outChannels);
  for (let t = 0; t < 9; t++) {
    for (let o = 0; o < outChannels; o++) taps[t * 9 * outChannels + o * 9 + t] = 1;
  }
  return tf.tensor4d(taps, [3, 3, 9 * outChannels, 1]);
}

/**
 * 'same' 3x3 conv (stride 1, no bias) from C to a few channels, as a spatial gate's or a
 * predictor's: `z = x . W` ([B,H,W,9k], one column per output channel and tap), then every output
 * pixel sums tap t of z taken at its t-th neighbour. On wasm with SIMD (one output, C a multiple
 * of 4) one kernel does both from a single read of x; otherwise z is a matMul and the tap
 * sum a depthwise conv with one-hot filters. Equal to tf.conv2d up to float rounding (and
 * differentiable like it); other backends and kernel sizes use tf.conv2d itself.
 */
export function conv2dFewOutputs(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  if (kh !== 3 || kw !== 3 || !MATMUL_BACKENDS.has(tf.getBackend())) return tf.conv2d(x, filter, 1, 'same');
  // wasm SIMD: nine dot products per pixel from one read of x, then the tap sum
  if (simdGateConvs(x.shape[3], [filter])) return conv3x3Few(x, [filter])[0];
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    // [3,3,C,k] -> [C, k*9], column o*9 + t
    const columns = tf.reshape(tf.transpose(tf.reshape(filter, [9, cin, cout]), [1, 2, 0]), [cin, cout * 9]);
    const z = tf.reshape(tf.matMul(tf.reshape(x, [b * h * w, cin]), columns), [b, h, w, cout * 9]) as tf.Tensor4D;
    const moved = tf.depthwiseConv2d(z, tapSelector(cout), 1, 'same');
    return tf.sum(tf.reshape(moved, [b, h, w, cout, 9]), 4) as tf.Tensor4D;
  });
}

/**
 * conv2dFewOutputs(x, f) for each filter f ([3, 3, C, 1]: spatial gates on the same input), the
 * same numbers; on wasm with SIMD all of them in one pass over x, on webgpu one dispatch per filter.
 * Inference only (not differentiable).
 */
export function conv2dFewOutputsEach(x: tf.Tensor4D, filters: tf.Tensor4D[]): tf.Tensor4D[] {
  if (filters.length > 0 && (simdGateConvs(x.shape[3], filters) || webgpuKernel(CONV3X3_FEW, x, filters))) return conv3x3Few(x, filters);
  return filters.map((f) => conv2dFewOutputs(x, f));
}

/**
 * A one-channel conv's activation in two forms: `wgsl` declaring `fn gateActivation(v : f32) -> f32`
 * (v: the conv plus its bias), which the webgpu program applies before it writes, and `ops`, the
 * same function of the conv and the bias as tfjs ops, for every other backend.
 */
export interface ConvActivation {
  wgsl: string;
  ops: (conv: tf.Tensor4D, bias: tf.Tensor) => tf.Tensor4D;
}

/**
 * A spatial gate's inference map, act(conv3x3(x, filter) + bias) for a [3,3,C,1] filter and a
 * one-value bias: one dispatch on webgpu (C a multiple of 4), else `activation.ops` of
 * conv2dFewOutputs. Inference only (not differentiable).
 */
export function activatedGateConv(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, activation: ConvActivation): tf.Tensor4D {
  if (bias.size !== 1) throw new Error(`activatedGateConv: bias must hold one value, got shape [${bias.shape.join(',')}]`);
  if (!webgpuKernel(ACTIVATED_GATE_CONV, x, [filter])) return tf.tidy(() => activation.ops(conv2dFewOutputs(x, filter), bias));
  const attrs: ActivatedGateConvAttrs = { activation: activation.wgsl };
  return tf.engine().runKernel(ACTIVATED_GATE_CONV, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * activatedGateConv of every level of a packed pyramid x [P, C] (pyramid.ts) -> its gate [P, 1]:
 * one dispatch for all levels on webgpu, each level's taps kept to it; elsewhere level by level.
 */
export function activatedGateConvPyramid(x: tf.Tensor2D, layout: PyramidLayout, filter: tf.Tensor4D, bias: tf.Tensor, activation: ConvActivation): tf.Tensor2D {
  if (bias.size !== 1) throw new Error(`activatedGateConvPyramid: bias must hold one value, got shape [${bias.shape.join(',')}]`);
  return activatedGateConvsPyramid(x, layout, [{ filter, bias }], activation);
}

/** A spatial gate's conv: filter [3,3,C,1] and its one-value bias. */
export interface GateConvParams {
  filter: tf.Tensor4D;
  bias: tf.Tensor;
}

/**
 * activatedGateConvPyramid of several gates on the same pyramid x [P, C], their maps one after
 * another -> [gates * P, 1]: on webgpu two gates (the scale node's paths) in one dispatch that
 * reads x once for both; elsewhere gate after gate, level by level.
 */
export function activatedGateConvsPyramid(x: tf.Tensor2D, layout: PyramidLayout, gates: GateConvParams[], activation: ConvActivation): tf.Tensor2D {
  const op = 'activatedGateConvsPyramid';
  if (gates.length === 0) throw new Error(`${op}: no gates`);
  for (const [i, { bias }] of gates.entries()) {
    if (bias.size !== 1) throw new Error(`${op}: gates[${i}].bias must hold one value, got shape [${bias.shape.join(',')}]`);
  }
  checkPacked(op, 'x', x, layout);
  const shaped = { shape: [layout.batch, 1, 1, x.shape[1]] } as tf.Tensor4D;
  if (gates.length > 2 || !webgpuKernel(ACTIVATED_GATE_CONV, shaped, gates.map((g) => g.filter))) {
    return tf.tidy(() => {
      const levels = unpackPyramid(x, layout);
      return concatRows(gates.map(({ filter, bias }) => packPyramid(levels.map((level) => activatedGateConv(level, filter, bias, activation)))));
    });
  }
  const attrs: ActivatedGateConvAttrs = { activation: activation.wgsl, pyramid: layout };
  const [first, second] = gates;
  const inputs: tf.NamedTensorMap = { x, filter: first.filter, bias: first.bias, ...(second ? { filter1: second.filter, bias1: second.bias } : {}) };
  return tf.engine().runKernel(ACTIVATED_GATE_CONV, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * Two towers' gates at once: x [2P, C] holds tower 0's packed pyramid (`layout`, P rows) then tower
 * 1's, and tower t's rows take gates[t] -> [2P, 1] (each tower's activatedGateConvPyramid, stacked).
 * One dispatch on webgpu, which reads each pixel's X once; elsewhere tower by tower.
 */
export function activatedGateConvTowers(x: tf.Tensor2D, layout: PyramidLayout, gates: [GateConvParams, GateConvParams], activation: ConvActivation): tf.Tensor2D {
  const op = 'activatedGateConvTowers';
  for (const [i, { bias }] of gates.entries()) {
    if (bias.size !== 1) throw new Error(`${op}: gates[${i}].bias must hold one value, got shape [${bias.shape.join(',')}]`);
  }
  const stacked = stackedLayout(layout, layout);
  checkPacked(op, 'x', x, stacked);
  const shaped = { shape: [layout.batch, 1, 1, x.shape[1]] } as tf.Tensor4D;
  if (!webgpuKernel(ACTIVATED_GATE_CONV, shaped, gates.map((g) => g.filter))) {
    return tf.tidy(() => {
      const towers = splitRows(x, [x.shape[0] / 2, x.shape[0] / 2]) as tf.Tensor2D[];
      return concatRows(towers.map((t, i) => activatedGateConvsPyramid(t, layout, [gates[i]], activation)));
    });
  }
  const attrs: ActivatedGateConvAttrs = { activation: activation.wgsl, pyramid: stacked, towerRuns: layout.sizes.length * layout.batch };
  const inputs: tf.NamedTensorMap = { x, filter: gates[0].filter, bias: gates[0].bias, filter1: gates[1].filter, bias1: gates[1].bias };
  return tf.engine().runKernel(ACTIVATED_GATE_CONV, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * Whether ops that write a map should take its gate convs along (blendResizedWithConvs,
 * sparseConv2dWithConvs, ...): only wasm with SIMD computes them in the same pass. Elsewhere they
 * would be separate convs of the written map anyway, and on webgpu activatedGateConv then takes
 * the gate's activation into the conv's dispatch.
 */
export function gateConvsTakenAlong(): boolean {
  return hasSimdLoops();
}

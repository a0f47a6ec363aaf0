import * as tf from '@tensorflow/tfjs-core';
import { groupNormInference } from './group-norm';
import { compactGemmApplies } from './kernels/compact-gemm-program';
import { activatedGateConv, activatedGateConvsPyramid, type ConvActivation, webgpuKernel } from './few-output-conv';
import { ACTIVATED_GATE_CONV, DEPTHWISE_GROUP_NORM, GEMM_CONV } from './kernels/kernel-names';
import { depthwiseGroupNorm } from './kernels/row-ops';
import { hasKernel } from './kernels/register';
import { denseConv } from './masked-conv2d';
import { checkPacked, type PyramidLayout, packPyramid, unpackPyramid } from './pyramid';
import type { SparseConvOptions } from './types';
import { checkGate, validateConvArgs } from './validate';

/**
 * The inference form of a dense layer: 'same' conv (regular or depthwise) (+bias) (+GroupNorm,
 * statistics per image) (+ReLU) (times a [B,H,W,1] `gate`: a gated path), with bias, GN, ReLU and
 * gate fused into one kernel on cpu and wasm, and on webgpu a depthwise 3x3 conv with them too.
 * Not differentiable: maskedConv2d is its training form.
 */
export function convLayer(x: tf.Tensor4D, filter: tf.Tensor4D, opts: Omit<SparseConvOptions, 'method' | 'gatedResidual'> = {}, gate?: tf.Tensor4D): tf.Tensor4D {
  validateConvArgs('convLayer', x, null, filter, opts);
  if (gate) checkGate('convLayer', 'gate', gate, x);
  const relu = opts.post === 'relu';
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    if (opts.norm && opts.depthwise && filter.shape[0] === 3 && filter.shape[1] === 3 && hasKernel(DEPTHWISE_GROUP_NORM)) {
      // webgpu: the conv is computed where GN reads it, in the GN's one or three dispatches
      return depthwiseGroupNorm(x, filter, opts.norm, opts.bias, relu, gate);
    }
    if (opts.norm) {
      const y = inferenceConv(x, filter, { ...opts, bias: undefined });
      return groupNormInference(y, new Array<number>(b).fill(h * w), opts.norm, { bias: opts.bias, relu, rowScale: gate });
    }
    const y = inferenceConv(x, filter, opts);
    const activated = relu ? tf.relu(y) : y;
    return gate ? tf.mul(activated, gate) : activated;
  });
}

/** No activation: the conv plus its bias as it is. */
const IDENTITY: ConvActivation = {
  wgsl: `fn gateActivation(v : f32) -> f32 {
  return v;
}`,
  ops: (conv, bias) => tf.add(conv, bias),
};

/**
 * The conv (+bias) of a dense inference layer: on webgpu a regular conv with channels in fours is the
 * sparse convs' tiled GEMM over every pixel (so the conventional head and the dynamic head's convs
 * run the same kernel) and a 3x3 conv to one channel the spatial gates' program, else tf.conv2d /
 * tf.depthwiseConv2d.
 */
function inferenceConv(x: tf.Tensor4D, filter: tf.Tensor4D, opts: Omit<SparseConvOptions, 'method' | 'gatedResidual'>): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  if (!opts.depthwise && kh === 3 && kw === 3 && cout === 1 && webgpuKernel(ACTIVATED_GATE_CONV, x, [filter])) {
    // one output channel (a centerness predictor): the spatial gates' conv program, its bias inside
    return tf.tidy(() => activatedGateConv(x, filter, opts.bias ?? tf.zeros([1]), IDENTITY));
  }
  if (opts.depthwise || kh !== kw || kh % 2 !== 1 || !compactGemmApplies(cin, cout, false) || !hasKernel(GEMM_CONV)) return denseConv(x, filter, opts);
  // the bias is added as the GEMM writes (a predictor's: no broadcast add of its own)
  return tf.engine().runKernel(GEMM_CONV, opts.bias ? { x, filter, bias: opts.bias } : { x, filter }) as tf.Tensor4D;
}

/**
 * convLayer's conv (+bias) of every level of a packed pyramid x [P, C] (pyramid.ts) -> [P, Cout]:
 * a predictor on all levels at once. webgpu: one dispatch, each row's taps kept to its level
 * (the gate conv program for one output channel, else the GEMM, for output channels not in fours
 * with the filter padded and the output sliced: three more); elsewhere level by level.
 */
export function convLayerPyramid(x: tf.Tensor2D, layout: PyramidLayout, filter: tf.Tensor4D, opts: { bias?: tf.Tensor1D } = {}): tf.Tensor2D {
  const op = 'convLayerPyramid';
  checkPacked(op, 'x', x, layout);
  const [kh, kw, cin, cout] = filter.shape;
  if (filter.rank !== 4 || cin !== x.shape[1]) throw new Error(`${op}: filter has shape [${filter.shape.join(',')}]; it must be [k,k,${x.shape[1]},Cout]`);
  if (opts.bias && opts.bias.size !== cout) throw new Error(`${op}: bias has shape [${opts.bias.shape.join(',')}]; it must be [${cout}]`);
  const shaped = { shape: [layout.batch, 1, 1, cin] } as tf.Tensor4D;
  if (kh === 3 && kw === 3 && cout === 1 && webgpuKernel(ACTIVATED_GATE_CONV, shaped, [filter])) {
    return tf.tidy(() => activatedGateConvsPyramid(x, layout, [{ filter, bias: opts.bias ?? tf.zeros([1]) }], IDENTITY));
  }
  // the GEMM writes channels in fours: other counts (a detector's 3 classes) run padded with zero filters, then sliced
  const padded = Math.ceil(cout / 4) * 4;
  if (tf.getBackend() === 'webgpu' && kh === kw && kh % 2 === 1 && compactGemmApplies(cin, padded, false) && hasKernel(GEMM_CONV)) {
    return tf.tidy(() => {
      const f = padded === cout ? filter : tf.pad(filter, [[0, 0], [0, 0], [0, 0], [0, padded - cout]]);
      const bias = opts.bias && padded !== cout ? tf.pad(opts.bias, [[0, padded - cout]]) : opts.bias;
      const inputs: tf.NamedTensorMap = bias ? { x, filter: f, bias } : { x, filter: f };
      const y = tf.engine().runKernel(GEMM_CONV, inputs, { pyramid: layout } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
      return padded === cout ? y : tf.slice(y, [0, 0], [-1, cout]);
    });
  }
  return tf.tidy(() => packPyramid(unpackPyramid(x, layout).map((level) => convLayer(level, filter, { bias: opts.bias }))));
}

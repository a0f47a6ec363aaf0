import type * as tf from '@tensorflow/tfjs-core';
import type { SparseConvOptions } from './types';

const shapeOf = (t: tf.Tensor) => `[${t.shape.join(',')}]`;

/** Shape checks shared by maskedConv2d, sparseConv2d and convLayer (no mask); throws naming the argument at fault. */
export function validateConvArgs(
  fn: string,
  x: tf.Tensor,
  mask: tf.Tensor | null,
  filter: tf.Tensor,
  opts: SparseConvOptions,
): { kernel: number; inChannels: number; outChannels: number } {
  if (x.rank !== 4) throw new Error(`${fn}: x must be rank 4 [B,H,W,C] (NHWC), got shape ${shapeOf(x)}`);
  if (mask && (mask.rank !== 4 || mask.shape[3] !== 1)) {
    throw new Error(`${fn}: mask must be rank 4 [B,H,W,1], got shape ${shapeOf(mask)}`);
  }
  if (mask && (mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1] || mask.shape[2] !== x.shape[2])) {
    throw new Error(`${fn}: mask shape ${shapeOf(mask)} does not match x shape ${shapeOf(x)} in batch and spatial size`);
  }
  if (filter.rank !== 4) throw new Error(`${fn}: filter must be rank 4 [kh,kw,Cin,Cout], got shape ${shapeOf(filter)}`);
  const [kh, kw, fin, fout] = filter.shape as number[];
  if (kh !== kw || kh % 2 !== 1) {
    throw new Error(`${fn}: filter must be square with an odd kernel size (1, 3, 5, ...), got shape ${shapeOf(filter)}`);
  }
  const cin = x.shape[3] as number;
  if (fin !== cin) throw new Error(`${fn}: filter shape ${shapeOf(filter)} expects ${fin} input channels but x shape ${shapeOf(x)} has ${cin}`);
  if (opts.depthwise && fout !== 1) {
    throw new Error(`${fn}: depthwise filter must be [kh,kw,C,1], got shape ${shapeOf(filter)}`);
  }
  if (opts.strides !== undefined && opts.strides !== 1) throw new Error(`${fn}: strides must be 1, got ${opts.strides}`);
  if (opts.pad !== undefined && opts.pad !== 'same') throw new Error(`${fn}: pad must be 'same', got '${opts.pad}'`);
  if (opts.post !== undefined && opts.post !== 'none' && opts.post !== 'relu') {
    throw new Error(`${fn}: post must be 'none' or 'relu', got '${opts.post}'`);
  }
  const outChannels = opts.depthwise ? cin : fout;
  if (opts.bias && (opts.bias.rank !== 1 || opts.bias.shape[0] !== outChannels)) {
    throw new Error(`${fn}: bias must be [${outChannels}], got shape ${shapeOf(opts.bias)}`);
  }
  if (opts.norm) {
    const { groups, gamma, beta } = opts.norm;
    if (!Number.isInteger(groups) || groups < 1 || outChannels % groups !== 0) {
      throw new Error(`${fn}: norm.groups must divide the ${outChannels} output channels, got ${groups}`);
    }
    for (const [name, t] of [['norm.gamma', gamma], ['norm.beta', beta]] as const) {
      if (t.rank !== 1 || t.shape[0] !== outChannels) throw new Error(`${fn}: ${name} must be [${outChannels}], got shape ${shapeOf(t)}`);
    }
  }
  if (opts.gatedResidual) {
    const { input, gate } = opts.gatedResidual;
    const [b, h, w] = x.shape;
    if (input.rank !== 4 || input.shape[0] !== b || input.shape[1] !== h || input.shape[2] !== w || input.shape[3] !== outChannels) {
      throw new Error(`${fn}: gatedResidual.input must be [${b},${h},${w},${outChannels}], got shape ${shapeOf(input)}`);
    }
    checkGate(fn, 'gatedResidual.gate', gate, x);
  }
  return { kernel: kh, inChannels: cin, outChannels };
}

/** A per-pixel factor [B,H,W,1] matching x's batch and spatial size. */
export function checkGate(fn: string, name: string, gate: tf.Tensor, x: tf.Tensor): void {
  const [b, h, w] = x.shape;
  if (gate.rank !== 4 || gate.shape[0] !== b || gate.shape[1] !== h || gate.shape[2] !== w || gate.shape[3] !== 1) {
    throw new Error(`${fn}: ${name} must be [${b},${h},${w},1], got shape ${shapeOf(gate)}`);
  }
}

import type { HeadOutputs } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';

export function disposeOutputs(out: HeadOutputs): void {
  tf.dispose([...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full]);
  for (const maps of Object.values(out.gates)) tf.dispose(maps);
}

/**
 * Waits for every output by reading back one scalar that depends on all of them: asynchronous
 * backends (webgpu) finish the whole head, without timing a large download.
 */
export async function settle(out: HeadOutputs): Promise<void> {
  const total = tf.tidy(() => tf.addN([...out.logits, ...out.bboxReg, ...out.centerness].map((t) => tf.sum(t))));
  await total.data();
  total.dispose();
}

/** Per-image used and full multiply-adds. */
export async function readCosts(out: HeadOutputs): Promise<{ used: number[]; full: number[] }> {
  return { used: Array.from(await out.cost.used.data()), full: Array.from(await out.cost.full.data()) };
}

import type { HeadOutputs } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';

export function disposeOutputs(out: HeadOutputs): void {
  tf.dispose([...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full]);
  for (const maps of Object.values(out.gates)) tf.dispose(maps);
}

/**
 * Waits for every output by reading back one scalar that depends on all of them: asynchronous
 * backends (webgpu) finish the whole head, without timing a large download. Each output gives its
 * first value, not its sum: the queue runs in order, so the readback still waits for all of the
 * head, and a full sum of each output (one workgroup per tensor in tfjs-webgpu) took an H200 1.3 ms
 * at batch 1 and 11.5 ms at batch 8, the same in every head's time (2026-12-04).
 */
export async function settle(out: HeadOutputs): Promise<void> {
  const total = tf.tidy(() => tf.addN([...out.logits, ...out.bboxReg, ...out.centerness].map((t) => tf.slice(tf.reshape(t, [-1]), 0, 1))));
  await total.data();
  total.dispose();
}

/** Per-image used and full multiply-adds. */
export async function readCosts(out: HeadOutputs): Promise<{ used: number[]; full: number[] }> {
  return { used: Array.from(await out.cost.used.data()), full: Array.from(await out.cost.full.data()) };
}

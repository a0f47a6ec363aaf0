import type { HeadOutputs } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';

export function disposeOutputs(out: HeadOutputs): void {
  tf.dispose([...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full]);
  for (const maps of Object.values(out.gates)) tf.dispose(maps);
}

/**
 * Waits for every output by reading back the smallest: the queue runs in order, so on an
 * asynchronous backend (webgpu) its readback waits for the whole head, and no program is added to
 * the timed pass. (Until 2026-12-05 the bench summed one value of each output first: 18 more
 * dispatches a pass, ~2 ms of host time at batch 1 on the H200, in every head's time alike.) On
 * webgpu it then also waits for the queue to drain, as a guard against a backend that would read
 * the buffer before earlier work ends.
 */
export async function settle(out: HeadOutputs): Promise<void> {
  const outputs = [...out.logits, ...out.bboxReg, ...out.centerness];
  await outputs.reduce((a, t) => (t.size < a.size ? t : a)).data();
  const queue = (tf.backend() as { device?: { queue?: { onSubmittedWorkDone?: () => Promise<unknown> } } }).device?.queue;
  if (queue?.onSubmittedWorkDone) await queue.onSubmittedWorkDone();
}

/** Per-image used and full multiply-adds. */
export async function readCosts(out: HeadOutputs): Promise<{ used: number[]; full: number[] }> {
  return { used: Array.from(await out.cost.used.data()), full: Array.from(await out.cost.full.data()) };
}

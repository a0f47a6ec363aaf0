// Test helpers shared by every package's tests (not published).
import type * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '@dynhead/coco';
import { type BackendName, useBackend } from '@dynhead/runtime';

/** The backends every numeric test runs on. DYNHEAD_TEST_BACKENDS=cpu,wasm narrows it. */
export const TEST_BACKENDS: BackendName[] = (process.env.DYNHEAD_TEST_BACKENDS ?? 'cpu,wasm,webgpu')
  .split(',')
  .map((s) => s.trim() as BackendName)
  .filter(Boolean);

export async function activate(name: BackendName): Promise<void> {
  await useBackend(name);
}

/** Relative L2 error ||a - b|| / max(||b||, tiny), in float64. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Seeded uniform numbers in [lo, hi) (@dynhead/coco's mulberry32), so failures reproduce. */
export function seededRandom(seed: number): (lo?: number, hi?: number) => number {
  const next = mulberry32(seed);
  return (lo = 0, hi = 1) => lo + (hi - lo) * next();
}

export async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

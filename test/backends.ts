// Test helpers shared by every package's tests (not published).
import * as tf from '@tensorflow/tfjs-core';
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

/** Seeded uniform numbers in [lo, hi) (mulberry32), so failures reproduce. */
export function seededRandom(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = 0, hi = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + (hi - lo) * u;
  };
}

export async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

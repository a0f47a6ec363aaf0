import * as tf from '@tensorflow/tfjs-core';

export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error('median: no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  samplesMs: number[];
  /**
   * Median process CPU time (user + system) per run, ms: steadier than wall time when other
   * processes share the cores (cpu, wasm); on webgpu it is only the host's share of the work.
   */
  medianCpuMs: number;
}

/**
 * Times `run` (which must read its outputs back, so that asynchronous backends finish) `repeats`
 * times after `warmup` untimed runs, and reports the median.
 */
export async function timeIt(run: () => Promise<void>, repeats: number, warmup: number): Promise<Timing> {
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`timeIt: repeats must be a positive integer, got ${repeats}`);
  for (let i = 0; i < warmup; i++) await run();
  const samplesMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    samplesMs.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { medianMs: median(samplesMs), minMs: Math.min(...samplesMs), samplesMs, medianCpuMs: median(cpuMs) };
}

/**
 * Times several runs round-robin: `warmup` untimed rounds, then `repeats` rounds, each running every
 * run once in turn. On a shared machine whose speed drifts (other jobs, a busy sibling core) a slow
 * stretch then lands on every run alike instead of on whichever ran during it, so the ratios between
 * the runs hold even where the absolute times move.
 */
export async function timeInterleaved(runs: (() => Promise<void>)[], repeats: number, warmup: number): Promise<Timing[]> {
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`timeInterleaved: repeats must be a positive integer, got ${repeats}`);
  for (let i = 0; i < warmup; i++) for (const run of runs) await run();
  const samples = runs.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < repeats; i++) {
    for (const [j, run] of runs.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await run();
      samples[j].wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      samples[j].cpu.push((c.user + c.system) / 1000);
    }
  }
  return samples.map(({ wall, cpu }) => ({ medianMs: median(wall), minMs: Math.min(...wall), samplesMs: wall, medianCpuMs: median(cpu) }));
}

/** GPU time of one program class over a pass (webgpu timestamp queries). */
export interface ProgramTime {
  /** The WebGPU program's class name (Conv2DMMProgram, CompactConvProgram, ...). */
  name: string;
  ms: number;
  dispatches: number;
}

/** How many program classes a bench keeps from PassProfile.programs in its results. */
export const GPU_PROGRAMS_KEPT = 8;

/** The busiest program classes as the benches print them: `name ms (dispatches)`, most first. */
export function formatProgramTimes(programs: ProgramTime[]): string {
  return programs.map((p) => `${p.name} ${p.ms.toFixed(2)} (${p.dispatches})`).join(', ');
}

/** What one pass costs besides time: its peak tensor memory and how many kernels it launches. */
export interface PassProfile {
  peakMiB: number;
  /** tfjs kernels run (each op is one or more). */
  kernels: number;
  /** webgpu only: compute dispatches (some kernels run several programs); null elsewhere. */
  dispatches: number | null;
  /**
   * webgpu with timestamp queries: the GPU's busy time over the pass, the sum of every dispatch's
   * own compute pass (so it leaves out the host's share and the gaps between dispatches); null
   * elsewhere. Wall time minus this is what the host and the queue cost.
   */
  gpuMs: number | null;
  /** With gpuMs: the GPU time per program class, most first. */
  programs: ProgramTime[] | null;
  /** With gpuMs: every dispatch in order, with its output shape (which of a class's dispatches cost the time). */
  dispatchTimes: DispatchTime[] | null;
}

/** GPU time of one dispatch of a pass (webgpu timestamp queries). */
export interface DispatchTime {
  name: string;
  /** The program's output shape. */
  shape: number[];
  ms: number;
}

interface TimedWebGPUBackend {
  runWebGPUProgram?: (...args: unknown[]) => unknown;
  supportTimestampQuery?: boolean;
  /** While tf.profile times a kernel, each dispatch pushes { name, query } here (tfjs-backend-webgpu 4.22). */
  activeTimers?: unknown[] | null;
}

/**
 * One pass under tf.profile, counting on webgpu the programs it dispatches as well: on a GPU each
 * dispatch has a fixed cost in the backend's JavaScript and in the driver, whatever its size.
 * Under tf.profile the webgpu backend puts each dispatch in a compute pass of its own with
 * timestamps; their durations are read per dispatch here, not per kernel, because a kernel that
 * runs other kernels would count their time twice.
 */
export async function passProfile(run: () => Promise<void>): Promise<PassProfile> {
  const backend = tf.backend() as unknown as TimedWebGPUBackend;
  const original = backend.runWebGPUProgram;
  let dispatches = 0;
  const timed: { name: string; query: Promise<number>; shape: number[] }[] = [];
  if (original) {
    backend.runWebGPUProgram = (...args: unknown[]) => {
      dispatches++;
      const result = original.apply(backend, args);
      const last = backend.activeTimers?.[backend.activeTimers.length - 1] as { name?: unknown; query?: unknown } | undefined;
      const shape = (args[0] as { outputShape?: number[] }).outputShape ?? [];
      if (last && typeof last.name === 'string' && last.query instanceof Promise) timed.push({ name: last.name, query: last.query as Promise<number>, shape: [...shape] });
      return result;
    };
  }
  try {
    const info = await tf.profile(async () => {
      await run();
    });
    const profile: PassProfile = { peakMiB: info.peakBytes / 2 ** 20, kernels: info.kernels.length, dispatches: original ? dispatches : null, gpuMs: null, programs: null, dispatchTimes: null };
    if (original && backend.supportTimestampQuery && timed.length === dispatches && dispatches > 0) {
      const ms = await Promise.all(timed.map((t) => t.query));
      profile.gpuMs = ms.reduce((a, b) => a + b, 0);
      const byName = new Map<string, ProgramTime>();
      for (const [i, { name }] of timed.entries()) {
        const p = byName.get(name) ?? { name, ms: 0, dispatches: 0 };
        p.ms += ms[i];
        p.dispatches++;
        byName.set(name, p);
      }
      profile.programs = [...byName.values()].sort((a, b) => b.ms - a.ms);
      profile.dispatchTimes = timed.map(({ name, shape }, i) => ({ name, shape, ms: ms[i] }));
    }
    return profile;
  } finally {
    if (original) backend.runWebGPUProgram = original;
  }
}

/**
 * webgpu: the host's time spent handing programs to the GPU (tfjs's runWebGPUProgram: uniforms,
 * bind group, encoding, and the submits it makes), summed over every dispatch since `reset`; null
 * on other backends. A GPU pass at batch 1 costs ~100 us of this a dispatch, and a head whose GPU
 * time is short waits on it.
 */
export interface HostClock {
  reset(): void;
  ms(): number;
  restore(): void;
}

export function hostProgramClock(): HostClock | null {
  const backend = tf.backend() as unknown as TimedWebGPUBackend;
  const original = backend.runWebGPUProgram;
  if (!original) return null;
  let total = 0;
  backend.runWebGPUProgram = (...args: unknown[]) => {
    const start = performance.now();
    try {
      return original.apply(backend, args);
    } finally {
      total += performance.now() - start;
    }
  };
  return {
    reset: () => {
      total = 0;
    },
    ms: () => total,
    restore: () => {
      backend.runWebGPUProgram = original;
    },
  };
}

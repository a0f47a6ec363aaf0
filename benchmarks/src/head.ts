import { DynamicHead } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';
import { syntheticFeatures } from './features';
import { calibrateGateBias } from './gate-density';
import { disposeOutputs, readCosts, settle } from './head-outputs';
import { FULL_IMAGE, type ImageSize, levelShapes, pixelCount } from './levels';
import { type DispatchTime, formatProgramTimes, GPU_PROGRAMS_KEPT, type HostClock, hostProgramClock, median, type PassProfile, type ProgramTime, passProfile, timeInterleaved } from './measure';
import { DENSITY_TARGETS, type Density, fullCostPerPixel, type HeadVariant, headMatches, headVariants, toGFlops } from './variants';

export interface HeadBenchOptions {
  image: ImageSize;
  batches: number[];
  channels: number;
  /** Timed runs per row (the median is reported) after `warmup` untimed runs. */
  repeats: number;
  warmup: number;
  /** Only the heads whose name contains one of these (case-insensitive); empty: all. */
  only: string[];
  /** Image on which the gate biases are calibrated to each density (small: one head pass per step). */
  calibrationImage: ImageSize;
  /** Bisection steps of the gate-bias calibration. */
  calibrationSteps: number;
  seed: number;
  /** webgpu: run every block on the packed levels (DynamicHead.infer's packLevels; default true). */
  packLevels: boolean;
  /** webgpu, packed levels: the two towers' depth nodes at once (DynamicHead.infer's mergeTowers; default true). */
  mergeTowers: boolean;
  /** webgpu with timestamp queries: keep every dispatch's GPU time in the rows (gpuDispatches). */
  dispatchTimes: boolean;
  log: (line: string) => void;
}

/** The issue's setting: P3..P7 of an 800x1333 image at 256 channels, batch 1 and 8. */
export const HEAD_BENCH_DEFAULTS: HeadBenchOptions = {
  image: FULL_IMAGE,
  batches: [1, 8],
  channels: 256,
  repeats: 5,
  warmup: 1,
  only: [],
  calibrationImage: { height: 128, width: 160 },
  calibrationSteps: 14,
  seed: 1,
  packLevels: true,
  mergeTowers: true,
  dispatchTimes: false,
  log: () => {},
};

/**
 * A size a shared 2-core CPU finishes in minutes on tfjs-backend-cpu: a 128x160 image (P3 16x20)
 * at 64 channels, batch 1 and 2, gate biases calibrated on 64x96 (12 bisection steps).
 */
export const HEAD_BENCH_QUICK: Partial<HeadBenchOptions> = {
  image: { height: 128, width: 160 },
  channels: 64,
  batches: [1, 2],
  repeats: 3,
  calibrationImage: { height: 64, width: 96 },
  calibrationSteps: 12,
};

export interface HeadBenchRow {
  head: string;
  kind: 'dynamic' | 'fix' | 'conventional';
  blocks: number;
  density: Density | null;
  batch: number;
  /** The common gate bias set for this density (dynamic heads). */
  gateBias: number | null;
  /** Used GFLOPs (multiply-adds / 2^30) per image: mean, min and max over the batch. */
  usedGFlops: { avg: number; min: number; max: number };
  fullGFlops: number;
  /** used / full over the batch. */
  usedRatio: number;
  medianMs: number;
  minMs: number;
  /**
   * Wall ms of each timed round, in round order. The rounds interleave the heads, so sample i of
   * two rows ran side by side (absent in results recorded before 2026-12-03).
   */
  samplesMs?: number[];
  /** Median process CPU ms per run (see Timing.medianCpuMs). */
  medianCpuMs: number;
  /** Peak bytes of live tensors (weights and inputs included) during one pass, MiB. */
  peakMiB: number;
  /** tfjs kernels one pass runs. */
  kernels: number;
  /** webgpu: compute dispatches of one pass (null on other backends). */
  dispatches: number | null;
  /**
   * webgpu with timestamp queries: GPU busy ms of one pass (PassProfile.gpuMs; from the profiled
   * warm-up pass, whose programs run as the timed ones do); null elsewhere, absent before 2026-12-04.
   */
  gpuMs?: number | null;
  /**
   * webgpu: the median over the timed passes of the host ms each spent handing its programs to the
   * GPU (measure.ts hostProgramClock); null elsewhere, absent before 2026-12-05.
   */
  hostMs?: number | null;
  /** With gpuMs: the program classes that took the most GPU time in that pass. */
  gpuPrograms?: ProgramTime[];
  /** With gpuMs and the dispatchTimes option: each dispatch of that pass, in order. */
  gpuDispatches?: DispatchTime[];
}

export interface HeadBenchResult {
  bench: 'head';
  image: ImageSize;
  levels: [number, number][];
  channels: number;
  repeats: number;
  rows: HeadBenchRow[];
}

/**
 * Latency, used FLOPs and peak memory of each head on synthetic P3..P7 features, in inference mode
 * (the dynamic head runs its sparse path). The active tfjs backend is used as it is. Every head is
 * built (and its gates calibrated) first; then, per batch size, their timed passes alternate
 * (timeInterleaved), so that the "vs FCOS head" ratios compare passes run side by side.
 */
export async function runHeadBench(options: Partial<HeadBenchOptions> = {}): Promise<HeadBenchResult> {
  const o: HeadBenchOptions = { ...HEAD_BENCH_DEFAULTS, ...options };
  if (o.batches.length === 0 || o.batches.some((b) => !(Number.isInteger(b) && b >= 1))) {
    throw new Error(`bench head: batches must be positive integers, got ${o.batches.join(',')}`);
  }
  const shapes = levelShapes(o.image);
  const pixels = pixelCount(shapes);
  const variants = headVariants(o.channels).filter((v) => headMatches(v.name, o.only));
  if (variants.length === 0) throw new Error(`bench head: --only ${o.only.join(',')} matches no head`);
  const calibration = syntheticFeatures(levelShapes(o.calibrationImage), 1, o.channels, o.seed + 1000);
  const heads: { variant: HeadVariant; head: DynamicHead; gateBias: number | null }[] = [];
  const rows: HeadBenchRow[] = [];
  let clock: HostClock | null = null;
  try {
    for (const variant of variants) {
      const head = new DynamicHead(variant.config, o.seed);
      heads.push({ variant, head, gateBias: null });
      if (variant.density) {
        const c = await calibrateGateBias(head, calibration, DENSITY_TARGETS[variant.density], { iterations: o.calibrationSteps });
        heads[heads.length - 1].gateBias = c.bias;
        o.log(`${variant.name}: gate bias ${c.bias.toFixed(3)} gives used/full ${c.ratio.toFixed(3)} on the calibration image`);
      }
    }
    clock = hostProgramClock();
    for (const batch of o.batches) {
      const features = syntheticFeatures(shapes, batch, o.channels, o.seed);
      try {
        const costs = heads.map(() => ({ used: [] as number[], full: [] as number[] }));
        const hostSamples = heads.map(() => [] as number[]);
        const passes = heads.map(({ head }, j) => async () => {
          clock?.reset();
          const out = await head.infer(features, { recordGates: false, packLevels: o.packLevels, mergeTowers: o.mergeTowers });
          await settle(out);
          if (clock) hostSamples[j].push(clock.ms());
          costs[j] = await readCosts(out);
          disposeOutputs(out);
        });
        // The profiled pass doubles as the warm-up (shader compilation, kernel caches). Its peak
        // counts every live tensor, so the other heads' weights come off: a head's peak is its own
        // weights, the features and its pass, as when it runs alone. On webgpu an unprofiled pass
        // comes first, since a first pass's GPU time also counts its buffers' first use (an H200's
        // FCOS at batch 8: 272 GPU ms against 96 ms of wall time in later passes).
        const weightMiB = heads.map(({ head }) => [...head.namedWeights()].reduce((sum, [, v]) => sum + v.size * 4, 0) / 2 ** 20);
        const allWeightsMiB = weightMiB.reduce((a, b) => a + b, 0);
        const profiles: PassProfile[] = [];
        for (const [j, pass] of passes.entries()) {
          if (tf.getBackend() === 'webgpu') await pass();
          const p = await passProfile(pass);
          profiles.push({ ...p, peakMiB: p.peakMiB - (allWeightsMiB - weightMiB[j]) });
        }
        const timings = await timeInterleaved(passes, o.repeats, Math.max(0, o.warmup - 1));
        for (const [j, { variant, gateBias }] of heads.entries()) {
          const fullPerImage = fullCostPerPixel(variant.config) * pixels;
          // Heads without gates charge nothing as "used": everything they compute is.
          const used = variant.config.kind === 'dynamic' ? costs[j].used : costs[j].used.map(() => fullPerImage);
          const g = used.map(toGFlops);
          const row: HeadBenchRow = {
            head: variant.name,
            kind: variant.config.kind,
            blocks: variant.config.blocks,
            density: variant.density,
            batch,
            gateBias,
            usedGFlops: { avg: g.reduce((a, b) => a + b, 0) / g.length, min: Math.min(...g), max: Math.max(...g) },
            fullGFlops: toGFlops(fullPerImage),
            usedRatio: used.reduce((a, b) => a + b, 0) / (fullPerImage * batch),
            medianMs: timings[j].medianMs,
            minMs: timings[j].minMs,
            samplesMs: timings[j].samplesMs,
            medianCpuMs: timings[j].medianCpuMs,
            peakMiB: profiles[j].peakMiB,
            kernels: profiles[j].kernels,
            dispatches: profiles[j].dispatches,
            gpuMs: profiles[j].gpuMs,
            // the timed passes are each head's last ones
            hostMs: clock ? median(hostSamples[j].slice(-o.repeats)) : null,
            ...(profiles[j].programs ? { gpuPrograms: profiles[j].programs.slice(0, GPU_PROGRAMS_KEPT) } : {}),
            ...(o.dispatchTimes && profiles[j].dispatchTimes ? { gpuDispatches: profiles[j].dispatchTimes } : {}),
          };
          rows.push(row);
          o.log(`${row.head} batch ${batch}: ${row.medianMs.toFixed(1)} ms${row.gpuMs == null ? '' : ` (GPU busy ${row.gpuMs.toFixed(1)} ms)`}, ${row.usedGFlops.avg.toFixed(3)} GFLOPs, ${row.peakMiB.toFixed(1)} MiB, ${row.kernels} kernels${row.dispatches === null ? '' : `, ${row.dispatches} dispatches`}${row.hostMs == null ? '' : `, ${row.hostMs.toFixed(1)} host ms`}`);
        }
      } finally {
        tf.dispose(features);
      }
    }
  } finally {
    clock?.restore();
    for (const { head } of heads) head.dispose();
    tf.dispose(calibration);
  }
  // rows grouped by head, then batch, as before
  rows.sort((a, b) => variants.findIndex((v) => v.name === a.head) - variants.findIndex((v) => v.name === b.head) || a.batch - b.batch);
  return { bench: 'head', image: o.image, levels: shapes, channels: o.channels, repeats: o.repeats, rows };
}


const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** One-sided sign test: the chance of at least k wins in n rounds where each is a coin toss. */
export function signTestP(k: number, n: number): number {
  let ways = 0;
  let choose = 1; // C(n, i), from i = 0 up
  for (let i = 0; i <= n; i++) {
    if (i >= k) ways += choose;
    choose = (choose * (n - i)) / (i + 1);
  }
  return ways / 2 ** n;
}

/**
 * Whether `head` ran faster than the conventional head `base`: the ratio of their medians, and a
 * sign test over the interleaved rounds (each times the two side by side, so a drifting machine
 * slows both): "met" when the head was faster in so many rounds that chance gives it under 5%
 * (5 of 5, 7 of 8, ...), "not met" when slower in so many, else "within noise". A lucky median on
 * a drifting machine is not read as the goal reached; fewer than 5 rounds never decide. Ties count
 * for neither. Rows without samples (results recorded before 2026-12-03) are judged by the medians.
 */
export function goalVerdict(base: HeadBenchRow, head: HeadBenchRow): string {
  const ratio = `${fmt(base.medianMs / head.medianMs, 2)}x`;
  const [a, b] = [base.samplesMs ?? [], head.samplesMs ?? []];
  const rounds = Math.min(a.length, b.length);
  if (rounds === 0) return `${ratio} (${base.medianMs > head.medianMs ? 'met' : 'not met'})`;
  const faster = a.slice(0, rounds).filter((t, i) => t > b[i]).length;
  const slower = a.slice(0, rounds).filter((t, i) => t < b[i]).length;
  const [pFaster, pSlower] = [signTestP(faster, rounds), signTestP(slower, rounds)];
  const p = (x: number) => (x < 0.001 ? 'p < 0.001' : `p = ${fmt(x, 3)}`);
  if (pFaster < 0.05) return `${ratio} (met: faster in ${faster} of ${rounds} interleaved rounds, sign test ${p(pFaster)})`;
  if (pSlower < 0.05) return `${ratio} (not met: slower in ${slower} of ${rounds} interleaved rounds, sign test ${p(pSlower)})`;
  return `${ratio} (within noise: faster in ${faster} of ${rounds} interleaved rounds, sign test ${p(pFaster)})`;
}

/**
 * The result as a markdown table: one row per head and batch, speed relative to the conventional
 * head of the same batch in wall time and in process CPU time.
 */
export function headTable(result: HeadBenchResult): string {
  const conventional = result.rows.filter((r) => r.kind === 'conventional');
  const wall = new Map(conventional.map((r) => [r.batch, r.medianMs]));
  const cpu = new Map(conventional.map((r) => [r.batch, r.medianCpuMs]));
  // webgpu: each dispatch costs a fixed time on a GPU, so their count is shown beside the kernels
  const gpu = result.rows.some((r) => r.dispatches != null);
  // with timestamp queries, how much of the wall time the GPU was busy
  const busy = result.rows.some((r) => r.gpuMs != null);
  // and the host's time handing programs to it
  const host = result.rows.some((r) => r.hostMs != null);
  const lines = [
    `| head | batch | median ms | vs FCOS head | median CPU ms | vs FCOS (CPU) | used GFLOPs avg (min-max) / image | full GFLOPs / image | used/full | peak MiB | kernels / pass${gpu ? ' | dispatches / pass' : ''}${busy ? ' | GPU busy ms / pass' : ''}${host ? ' | host ms / pass' : ''} |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---:${gpu ? ' | ---:' : ''}${busy ? ' | ---:' : ''}${host ? ' | ---:' : ''} |`,
  ];
  const ratio = (base: number | undefined, x: number) => (base ? `${fmt(base / x, 2)}x` : '-');
  for (const r of result.rows) {
    const used = r.kind === 'dynamic' ? `${fmt(r.usedGFlops.avg, 3)} (${fmt(r.usedGFlops.min, 3)}-${fmt(r.usedGFlops.max, 3)})` : fmt(r.usedGFlops.avg, 3);
    lines.push(
      `| ${r.head} | ${r.batch} | ${fmt(r.medianMs, 1)} | ${ratio(wall.get(r.batch), r.medianMs)} | ${fmt(r.medianCpuMs, 1)} | ${ratio(cpu.get(r.batch), r.medianCpuMs)} | ${used} | ${fmt(r.fullGFlops, 3)} | ${fmt(r.usedRatio, 3)} | ${fmt(r.peakMiB, 1)} | ${r.kernels ?? '-'}${gpu ? ` | ${r.dispatches ?? '-'}` : ''}${busy ? ` | ${r.gpuMs == null ? '-' : fmt(r.gpuMs, 1)}` : ''}${host ? ` | ${r.hostMs == null ? '-' : fmt(r.hostMs, 1)}` : ''} |`,
    );
  }
  // The issue's goal: the dynamic D8 head at Mid density faster than the conventional head.
  const goal = result.rows.filter((r) => r.head === 'Dynamic D8 Mid' && wall.has(r.batch));
  if (goal.length > 0) {
    const verdicts = goal.map((r) => `batch ${r.batch}: ${goalVerdict(conventional.find((c) => c.batch === r.batch) as HeadBenchRow, r)}`);
    lines.push('', `Goal, Dynamic D8 Mid faster than the FCOS head (wall time): ${verdicts.join('; ')}.`);
  }
  const programs = result.rows.filter((r) => r.gpuPrograms && (r.kind === 'conventional' || r.head === 'Dynamic D8 Mid'));
  if (programs.length > 0) {
    lines.push('', 'GPU time by program (one pass; ms, dispatches):');
    for (const r of programs) {
      lines.push(`- ${r.head}, batch ${r.batch}: ${formatProgramTimes(r.gpuPrograms ?? [])}`);
    }
  }
  return lines.join('\n');
}

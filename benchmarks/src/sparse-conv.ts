import { type SparseConvMethod, sparseConv2d } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import { benchMask, type MaskPattern } from './sparse-conv-masks';

export type SparseConvKind = 'conv3x3' | 'depthwise3x3';

export interface SparseConvBenchOptions {
  /** Map size: the P3 level of an 800x1333 image is 100x167. */
  height: number;
  width: number;
  channels: number;
  kinds: SparseConvKind[];
  batches: number[];
  patterns: MaskPattern[];
  densities: number[];
  repeats: number;
  warmup: number;
  /** Also time each explicit method (kernel, gather, dense) per row: where the fallback threshold comes from. */
  compareMethods: boolean;
  seed: number;
  log: (line: string) => void;
}

/** The issue's setting: 3x3 conv 256->256 and depthwise 3x3 at P3 of 800x1333, batch 1 and 4. */
export const SPARSE_CONV_BENCH_DEFAULTS: SparseConvBenchOptions = {
  height: 100,
  width: 167,
  channels: 256,
  kinds: ['conv3x3', 'depthwise3x3'],
  batches: [1, 4],
  patterns: ['blob', 'random'],
  densities: [0, 0.05, 0.1, 0.25, 0.5, 0.75, 1],
  repeats: 5,
  warmup: 1,
  compareMethods: false,
  seed: 1,
  log: () => {},
};

/** --quick: what SwiftShader WebGPU and the cpu backend finish in minutes on 2 cores. */
export const SPARSE_CONV_BENCH_QUICK: Partial<SparseConvBenchOptions> = { height: 25, width: 42, channels: 64, repeats: 3 };

export interface SparseConvBenchRow {
  backend: string;
  kind: SparseConvKind;
  batch: number;
  pattern: MaskPattern;
  density: number;
  /** Median ms of the dense conv (tf.conv2d / tf.depthwiseConv2d), output read back; timed alternately with sparseMs. */
  denseMs: number;
  /** Median ms of sparseConv2d (method 'auto': mask read, sparse kernel or dense fallback), output read back. */
  sparseMs: number;
  ratio: number;
  /** The same ratio in process CPU time: steadier than wall time on a loaded machine (cpu, wasm). */
  cpuRatio: number;
  /** With compareMethods: median ms of each forced method. */
  methodMs?: Partial<Record<Exclude<SparseConvMethod, 'auto'>, number>>;
}

export interface SparseConvBenchResult {
  options: Omit<SparseConvBenchOptions, 'log'>;
  rows: SparseConvBenchRow[];
}

const METHODS: Exclude<SparseConvMethod, 'auto'>[] = ['kernel', 'compact', 'gather', 'dense'];

type Run = () => tf.Tensor | Promise<tf.Tensor>;

async function once(run: Run): Promise<{ wall: number; cpu: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const y = await run();
  await y.data();
  y.dispose();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Median wall and process-CPU ms of each run, timed in alternation (a, b, c, a, b, c, ...) so that
 * load from other processes on a shared machine hits all of them alike.
 */
async function timeInterleaved(runs: Run[], repeats: number, warmup: number): Promise<{ wall: number; cpu: number }[]> {
  for (let i = 0; i < warmup; i++) for (const r of runs) await once(r);
  const samples = runs.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < repeats; i++) {
    for (const [j, r] of runs.entries()) {
      const t = await once(r);
      samples[j].wall.push(t.wall);
      samples[j].cpu.push(t.cpu);
    }
  }
  return samples.map((s) => ({ wall: median(s.wall), cpu: median(s.cpu) }));
}

/**
 * Times the dense conv against sparseConv2d on the active backend for every kind, batch, mask
 * pattern and density; medians after warm-up. The caller activates the backend.
 */
export async function runSparseConvBench(options: Partial<SparseConvBenchOptions> = {}): Promise<SparseConvBenchResult> {
  const o: SparseConvBenchOptions = { ...SPARSE_CONV_BENCH_DEFAULTS, ...options };
  const backend = tf.getBackend();
  const { height: h, width: w, channels: c } = o;
  const rows: SparseConvBenchRow[] = [];
  for (const kind of o.kinds) {
    const depthwise = kind === 'depthwise3x3';
    const filter = tf.tidy(() => tf.randomUniform([3, 3, c, depthwise ? 1 : c], -0.05, 0.05, 'float32', o.seed)) as tf.Tensor4D;
    for (const batch of o.batches) {
      const x = tf.randomUniform([batch, h, w, c], -1, 1, 'float32', o.seed + 1) as tf.Tensor4D;
      const dense = () => (depthwise ? tf.depthwiseConv2d(x, filter, 1, 'same') : tf.conv2d(x, filter, 1, 'same'));
      for (const pattern of o.patterns) {
        for (const density of o.densities) {
          const planes = Array.from({ length: batch }, (_, b) => benchMask(h, w, density, pattern, o.seed * 1000 + b));
          const data = new Float32Array(batch * h * w);
          for (const [b, p] of planes.entries()) data.set(p, b * h * w);
          const mask = tf.tensor4d(data, [batch, h, w, 1]);
          const runs: Run[] = [dense, () => sparseConv2d(x, mask, filter, { depthwise })];
          if (o.compareMethods) for (const method of METHODS) runs.push(() => sparseConv2d(x, mask, filter, { depthwise, method }));
          const [d, s, ...m] = await timeInterleaved(runs, o.repeats, o.warmup);
          const row: SparseConvBenchRow = {
            backend,
            kind,
            batch,
            pattern,
            density,
            denseMs: d.wall,
            sparseMs: s.wall,
            ratio: s.wall / d.wall,
            cpuRatio: s.cpu / d.cpu,
          };
          if (o.compareMethods) row.methodMs = Object.fromEntries(METHODS.map((k, i) => [k, m[i].wall]));
          mask.dispose();
          rows.push(row);
          o.log(formatRow(row));
        }
      }
      x.dispose();
    }
    filter.dispose();
  }
  const { log: _log, ...recorded } = o;
  return { options: recorded, rows };
}

function formatRow(r: SparseConvBenchRow): string {
  const m = r.methodMs ? ` | ${METHODS.map((k) => `${k} ${r.methodMs?.[k]?.toFixed(1)}`).join(', ')}` : '';
  return `${r.kind} b${r.batch} ${r.pattern} d=${r.density}: dense ${r.denseMs.toFixed(1)} ms, sparse ${r.sparseMs.toFixed(1)} ms, ratio ${r.ratio.toFixed(3)} (cpu time ${r.cpuRatio.toFixed(3)})${m}`;
}

/** Markdown table; "target" is the issue's bar for blob masks: ratio <= density + 0.10 (density >= 0.1), <= 1.05 at 1.0. */
export function sparseConvTable(result: SparseConvBenchResult): string {
  const withMethods = result.rows.some((r) => r.methodMs);
  const head = ['backend', 'kind', 'batch', 'mask', 'density', 'dense ms', 'sparse ms', 'ratio', 'target', 'cpu-time ratio'];
  if (withMethods) head.push(...METHODS.map((m) => `${m} ms`));
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of result.rows) {
    const bar = r.density === 1 ? 1.05 : r.density >= 0.1 ? r.density + 0.1 : undefined;
    const target = r.pattern !== 'blob' || bar === undefined ? '' : `${r.ratio <= bar ? 'met' : 'missed'} (<= ${bar.toFixed(2)})`;
    const cells = [r.backend, r.kind, r.batch, r.pattern, r.density, r.denseMs.toFixed(1), r.sparseMs.toFixed(1), r.ratio.toFixed(3), target, r.cpuRatio.toFixed(3)];
    if (withMethods) cells.push(...METHODS.map((m) => r.methodMs?.[m]?.toFixed(1) ?? ''));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

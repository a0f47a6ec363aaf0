import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChartPoint, HEAD_SERIES_COLORS, latencyFlopsChart } from './chart';
import { HEAD_BENCH_QUICK, type HeadBenchOptions, type HeadBenchResult, headTable, runHeadBench } from './head';
import { type DispatchCountOptions, dispatchCountTable, runDispatchCount } from './dispatch-count';
import { describeMachine, type Machine, machineLine } from './machine';
import { README_PATH, RESULTS_DIR, recordResult, today, updateReadmeSection } from './results';
import { runSparseConvBench, SPARSE_CONV_BENCH_QUICK, type SparseConvBenchOptions, sparseConvTable } from './sparse-conv';
import { runTrainStepBench, type TrainStepOptions, TRAIN_STEP_QUICK, trainStepTable } from './train-step';

export const BENCH_NAMES = ['head', 'train-step', 'sparse-conv', 'dispatches'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

export interface BenchRunOptions {
  /** The active backend (the caller activates it) and its description. */
  backend: string;
  backendDetail: string;
  /** The small sizes this 2-core CPU machine finishes in minutes, instead of the paper's. */
  quick: boolean;
  batches?: number[];
  repeats?: number;
  channels?: number;
  /** head only: the image whose P3..P7 the heads run on, instead of 800x1333 (or --quick's). */
  image?: { height: number; width: number };
  only?: string[];
  /** Results directory (default benchmarks/results); JSON, and the chart PNG for the head bench. */
  outDir: string;
  /** Write the JSON result and chart (default true). */
  write: boolean;
  /** Put the table into benchmarks/README.md (default false). */
  readme: boolean;
  /** head only: false runs every head's levels one by one where it would pack them (webgpu). */
  packLevels?: boolean;
  /** head only: false runs the two towers' depth nodes one tower after the other where it would run them at once (webgpu). */
  mergeTowers?: boolean;
  /** head only, webgpu: every dispatch's GPU time in the JSON rows (gpuDispatches). */
  dispatchTimes?: boolean;
  log: (line: string) => void;
}

export interface BenchReport {
  name: BenchName;
  machine: Machine;
  markdown: string;
  result: unknown;
  resultsPath: string | null;
  chartPath: string | null;
}

export function parseBenchName(name: string): BenchName {
  if ((BENCH_NAMES as readonly string[]).includes(name)) return name as BenchName;
  throw new Error(`unknown bench '${name}': expected one of ${BENCH_NAMES.join(', ')}`);
}

function headChartPoints(result: HeadBenchResult, batch: number): ChartPoint[] {
  return result.rows
    .filter((r) => r.batch === batch)
    .map((r) => ({
      label: r.kind === 'dynamic' ? (r.density ?? '') : r.head.replace('FCOS (4 conv)', 'FCOS'),
      x: r.usedGFlops.avg,
      y: r.medianMs,
      series: r.kind === 'conventional' ? 'FCOS (4 conv)' : r.kind === 'fix' ? 'Fix' : `Dynamic D${r.blocks}`,
    }));
}

/**
 * Runs one bench on the active backend, records its JSON (and chart), and returns its table. The
 * backend must be set up by @dynhead/runtime's `useBackend`, which registers the kernel fixes the
 * benches rely on (webgpu's AddN in chunks among them).
 */
export async function runBench(name: BenchName, options: Partial<BenchRunOptions> & Pick<BenchRunOptions, 'backend' | 'backendDetail'>): Promise<BenchReport> {
  // Options left undefined by the caller (unset CLI flags) keep their defaults.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as typeof options;
  const o: BenchRunOptions = { quick: false, outDir: RESULTS_DIR, write: true, readme: false, log: () => {}, ...given };
  const machine = describeMachine(o.backend, o.backendDetail);
  const date = today();
  // Quick and other-size runs are kept apart from runs at the paper's sizes (results key, chart, README section).
  const key = (name === 'head' || name === 'dispatches') && o.image ? `${name}-${o.image.height}x${o.image.width}` : o.quick ? `${name}-quick` : name;
  let result: unknown;
  let markdown: string;
  let chartPath: string | null = null;
  if (name === 'head') {
    const head: Partial<HeadBenchOptions> = { ...(o.quick ? HEAD_BENCH_QUICK : {}), log: o.log };
    if (o.batches) head.batches = o.batches;
    if (o.repeats) head.repeats = o.repeats;
    if (o.channels) head.channels = o.channels;
    if (o.image) head.image = o.image;
    if (o.only) head.only = o.only;
    if (o.packLevels === false) head.packLevels = false;
    if (o.mergeTowers === false) head.mergeTowers = false;
    if (o.dispatchTimes) head.dispatchTimes = true;
    const r = await runHeadBench(head);
    result = r;
    markdown = headTable(r);
    if (o.write) {
      const batch = Math.min(...r.rows.map((row) => row.batch));
      const png = latencyFlopsChart(headChartPoints(r, batch), {
        title: `head latency vs GFLOPs, ${o.backend}, batch ${batch}, ${r.image.height}x${r.image.width}, C=${r.channels}`,
        colors: HEAD_SERIES_COLORS,
      });
      chartPath = join(o.outDir, `${key}-${o.backend}-${date}.png`);
      // a new --out directory: the chart is written before the JSON, which would create it
      mkdirSync(o.outDir, { recursive: true });
      writeFileSync(chartPath, png);
    }
  } else if (name === 'dispatches') {
    const d: Partial<DispatchCountOptions> = { log: o.log, ...(o.quick ? { image: { height: 128, width: 160 }, channels: 64 } : {}) };
    if (o.batches) d.batches = o.batches;
    if (o.channels) d.channels = o.channels;
    if (o.image) d.image = o.image;
    if (o.only) d.only = o.only;
    const r = await runDispatchCount(d);
    result = r;
    markdown = dispatchCountTable(r);
  } else if (name === 'train-step') {
    const t: Partial<TrainStepOptions> = { ...(o.quick ? TRAIN_STEP_QUICK : {}), log: o.log };
    if (o.batches) t.batch = o.batches[0];
    if (o.repeats) t.repeats = o.repeats;
    const r = await runTrainStepBench(t);
    result = r;
    markdown = trainStepTable(r);
  } else {
    const s: Partial<SparseConvBenchOptions> = { ...(o.quick ? SPARSE_CONV_BENCH_QUICK : {}), log: o.log };
    if (o.batches) s.batches = o.batches;
    if (o.repeats) s.repeats = o.repeats;
    if (o.channels) s.channels = o.channels;
    const r = await runSparseConvBench(s);
    result = r;
    markdown = sparseConvTable(r);
  }
  const resultsPath = o.write ? recordResult(key, machine, result, o.outDir, date) : null;
  const size = (name === 'head' || name === 'dispatches') && o.image ? ` (image ${o.image.height}x${o.image.width})` : o.quick ? ' (--quick sizes)' : '';
  const table = `${markdown}\n\nMachine: ${machineLine(machine)}; ${date}${size}.`;
  if (o.readme) updateReadmeSection(README_PATH, `${key}:${o.backend}`, table);
  return { name, machine, markdown: table, result, resultsPath, chartPath };
}

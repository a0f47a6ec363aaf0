// Input pipeline speed of @dynhead/coco: images/s of the prefetching DataLoader over BCCD train at
// 800 px (decode + resize + flip + normalise + pad), beside its stages, and how long a consumer that
// keeps the JS thread busy (like a training step) waits for data.
//
// Run (from the repository root, after `cd packages/coco && npx tsup`):
//   npx esbuild benchmarks/src/coco-loader.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=benchmarks/dist/coco-loader.mjs && node benchmarks/dist/coco-loader.mjs --backend wasm
// Flags: --backend cpu|wasm|webgpu, --batch N, --prefetch N, --short-edge PX, --limit IMAGES,
// --consumer-ms MS (0 skips the busy-consumer row), --ann FILE, --images DIR, --no-write, --out FILE.
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CocoDataset, DataLoader, type LoaderConfig, loadImage } from '@dynhead/coco';
import { useBackend } from '@dynhead/runtime';
import * as tf from '@tensorflow/tfjs-core';
import { describeMachine, type Machine, machineLine } from './machine';
import { RESULTS_DIR, recordResult } from './results';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

export interface CocoLoaderBenchOptions {
  annotations: string;
  imagesDir: string;
  shortEdge: number;
  maxSize: number;
  batchSize: number;
  prefetchBatches: number;
  /** Images per measured pass (default: the whole split). */
  limit?: number;
  /** A synchronous busy loop per batch standing in for a training step (0: skip that row). */
  consumerMs: number;
  /** Batches in the busy-consumer run. */
  consumerBatches: number;
  log: (line: string) => void;
}

export const COCO_LOADER_DEFAULTS: CocoLoaderBenchOptions = {
  annotations: `${SHARED}datasets/bccd/annotations/instances_train.json`,
  imagesDir: `${SHARED}datasets/bccd/images`,
  shortEdge: 800,
  maxSize: 1333,
  batchSize: 2,
  prefetchBatches: 2,
  consumerMs: 1000,
  consumerBatches: 10,
  log: () => {},
};

export interface CocoLoaderRow {
  stage: string;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  msPerImage: number;
  /** CPU time of the whole process (all threads: libvips, pixel worker, main) per image. */
  cpuMsPerImage?: number;
  /** Busy-consumer row: mean time the consumer waited for each batch. */
  waitMsPerBatch?: number;
}

export interface CocoLoaderBenchResult {
  bench: 'coco-loader';
  machine: Machine;
  config: Omit<CocoLoaderBenchOptions, 'log'>;
  batchShape: number[];
  /** 1-minute load average before and after: other processes share these cores. */
  loadAverage: [number, number];
  rows: CocoLoaderRow[];
  leakedTensors: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const row = (stage: string, images: number, ms: number, cpu: number | undefined, extra: Partial<CocoLoaderRow> = {}): CocoLoaderRow => ({
  stage,
  images,
  seconds: ms / 1000,
  imagesPerSecond: images / (ms / 1000),
  msPerImage: ms / images,
  cpuMsPerImage: cpu === undefined ? undefined : cpu / images,
  ...extra,
});

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // stands in for a synchronous training step on the JS thread
  }
}

/** Measures the loader on the active tfjs backend. */
export async function runCocoLoaderBench(
  options: Partial<CocoLoaderBenchOptions> & {
    backend: string;
    backendDetail: string;
  },
): Promise<CocoLoaderBenchResult> {
  const o = { ...COCO_LOADER_DEFAULTS, ...options };
  const dataset = await CocoDataset.load(o.annotations, o.imagesDir, {
    validate: 'header',
  });
  const ids = dataset.images.map((im) => im.id).slice(0, o.limit ?? Number.POSITIVE_INFINITY);
  const subset = o.limit ? dataset.subset(ids) : dataset;
  const loaderConfig: Partial<LoaderConfig> = {
    batchSize: o.batchSize,
    prefetchBatches: o.prefetchBatches,
    shortEdges: [o.shortEdge],
    maxSize: o.maxSize,
    seed: 0,
  };
  const rows: CocoLoaderRow[] = [];

  // Stage 1: decode alone (sharp), as many at once as the loader keeps in flight.
  const load0 = os.loadavg()[0];
  let t = performance.now();
  let c = cpuMs();
  const inFlight = o.batchSize * o.prefetchBatches;
  for (let i = 0; i < ids.length; i += inFlight) await Promise.all(ids.slice(i, i + inFlight).map((id) => loadImage(subset.imagePath(id))));
  rows.push(row('decode only (sharp)', ids.length, performance.now() - t, cpuMs() - c));
  o.log(`decode: ${rows[0].imagesPerSecond.toFixed(1)} images/s`);

  // Stage 2: the loader, one epoch, consumer only disposes.
  const loader = new DataLoader(subset, loaderConfig);
  let batchShape: number[] = [];
  // Warm-up batch: backend kernels compile / initialise once.
  for await (const b of loader.epoch(99)) {
    b.dispose();
    break;
  }
  const before = tf.memory().numTensors;
  let images = 0;
  t = performance.now();
  c = cpuMs();
  for await (const b of loader.epoch(0)) {
    images += b.imageIds.length;
    batchShape = b.images.shape;
    b.dispose();
  }
  rows.push(
    row(
      `DataLoader: decode + resize ${o.shortEdge} + flip + normalise + pad, batch ${o.batchSize}, prefetch ${o.prefetchBatches}`,
      images,
      performance.now() - t,
      cpuMs() - c,
    ),
  );
  const leakedTensors = tf.memory().numTensors - before;
  o.log(`loader: ${rows[1].imagesPerSecond.toFixed(1)} images/s`);

  // Stage 3: a consumer that blocks the JS thread for consumerMs per batch: how long does it wait for data?
  if (o.consumerMs > 0) {
    let waited = 0;
    let batches = 0;
    images = 0;
    t = performance.now();
    const it = loader.epoch(1);
    for (;;) {
      const w0 = performance.now();
      const next = await it.next();
      if (next.done) break;
      if (batches > 0) waited += performance.now() - w0; // the first batch has nothing to overlap with
      images += next.value.imageIds.length;
      busyWait(o.consumerMs);
      next.value.dispose();
      if (++batches >= o.consumerBatches) {
        await it.return(undefined);
        break;
      }
    }
    rows.push(
      row(`DataLoader beside a ${o.consumerMs} ms synchronous step per batch`, images, performance.now() - t, undefined, {
        waitMsPerBatch: batches > 1 ? waited / (batches - 1) : 0,
      }),
    );
  }
  await loader.close();
  const { log: _log, ...config } = o;
  const loadAverage: [number, number] = [load0, os.loadavg()[0]];
  return {
    bench: 'coco-loader',
    machine: describeMachine(options.backend, options.backendDetail),
    config,
    batchShape,
    loadAverage,
    rows,
    leakedTensors,
  };
}

export function cocoLoaderTable(r: CocoLoaderBenchResult): string {
  const lines = [
    `coco-loader on ${machineLine(r.machine)}; batch shape [${r.batchShape}]; load average ${r.loadAverage.map((l) => l.toFixed(1)).join(' -> ')}`,
    '',
    '| stage | images | s | images/s | ms/image | CPU ms/image | wait ms/batch |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map(
      (x) =>
        `| ${x.stage} | ${x.images} | ${x.seconds.toFixed(2)} | ${x.imagesPerSecond.toFixed(1)} | ${x.msPerImage.toFixed(1)} | ${x.cpuMsPerImage === undefined ? '' : x.cpuMsPerImage.toFixed(1)} | ${x.waitMsPerBatch === undefined ? '' : x.waitMsPerBatch.toFixed(1)} |`,
    ),
    '',
    `tensors leaked over the epoch: ${r.leakedTensors}`,
  ];
  return lines.join('\n');
}

interface Args {
  backend: string;
  options: Partial<CocoLoaderBenchOptions>;
  /** Record into benchmarks/results/<backend>-<date>.json (the benchmarks' shared results file). */
  write: boolean;
  /** Also write this run's JSON alone to this file. */
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { backend: 'wasm', options: {}, write: true };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: expected a number, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') out.backend = argv[++i];
    else if (a === '--batch') out.options.batchSize = num(a, argv[++i]);
    else if (a === '--prefetch') out.options.prefetchBatches = num(a, argv[++i]);
    else if (a === '--short-edge') out.options.shortEdge = num(a, argv[++i]);
    else if (a === '--limit') out.options.limit = num(a, argv[++i]);
    else if (a === '--consumer-ms') out.options.consumerMs = num(a, argv[++i]);
    else if (a === '--ann') out.options.annotations = argv[++i];
    else if (a === '--images') out.options.imagesDir = argv[++i];
    else if (a === '--no-write') out.write = false;
    else if (a === '--out') out.out = argv[++i];
    else throw new Error(`coco-loader bench: unknown argument '${a}'`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const active = await useBackend(args.backend as Parameters<typeof useBackend>[0]);
  const result = await runCocoLoaderBench({
    ...args.options,
    backend: active.name,
    backendDetail: active.detail,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`${cocoLoaderTable(result)}\n`);
  if (args.write) process.stdout.write(`wrote ${recordResult('coco-loader', result.machine, result, RESULTS_DIR)}\n`);
  if (args.out) {
    writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`wrote ${args.out}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    process.stderr.write(`coco-loader bench: ${(e as Error).message}\n`);
    process.exitCode = 1;
  });
}

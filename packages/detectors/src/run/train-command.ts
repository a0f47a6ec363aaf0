import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DetectorConfig, getConfig } from '../config';
import { type Series, lineChart, smooth } from '../plot/charts';
import type { IterationRecord, LogFormat, TextSink } from '../train/reporter';
import { CHECKPOINT_JSON, formatCategories, hasCheckpoint, sameCategories, writeFileAtomic } from '../train/checkpoint';
import { type TrainResult, train } from '../train/trainer';
import { type DetectorEvaluation, evaluateDetector } from './evaluate';
import { openCocoSplit } from './split';
import { InputError } from '../input-error';

export interface TrainCommandOptions {
  /** A config name (see detectorConfigs) or a config object. */
  config: string | DetectorConfig;
  ann: string;
  images: string;
  out: string;
  iters?: number;
  resume?: boolean;
  logFormat?: LogFormat;
  /** Validation split for periodic and final evaluation. */
  valAnn?: string;
  valImages?: string;
  /** Evaluate every N iterations (0: only at the end). */
  evalPeriod?: number;
  /** Evaluate on at most this many val images (periodic evaluations only). */
  evalLimit?: number;
  batchSize?: number;
  lr?: number;
  /** Stop after the iteration in progress, checkpoint it, skip the final evaluation (see TrainOptions.signal). */
  signal?: AbortSignal;
  /** Where progress text goes (TrainOptions.out); process.stdout by default. */
  out_?: TextSink;
}

export interface TrainCommandResult {
  iteration: number;
  /** Stopped by `signal`: the checkpoint is at `iteration`, `resume` continues. */
  interrupted: boolean;
  final?: { stats: number[]; flops: { avg: number; min: number; max: number; fullAvg: number } };
}

/** `dynhead train`: trains, checkpoints, evaluates on val and draws the loss / AP plots into `out`. */
export async function runTrain(o: TrainCommandOptions): Promise<TrainCommandResult> {
  let config = typeof o.config === 'string' ? getConfig(o.config) : o.config;
  if (o.batchSize || o.lr !== undefined || o.evalPeriod !== undefined) {
    config = {
      ...config,
      solver: {
        ...config.solver,
        batchSize: o.batchSize ?? config.solver.batchSize,
        evalPeriod: o.evalPeriod ?? config.solver.evalPeriod,
        schedule: { ...config.solver.schedule, baseLr: o.lr ?? config.solver.schedule.baseLr },
      },
    };
  }
  for (const [flag, path] of [
    ['--ann', o.ann],
    ['--images', o.images],
    ['--val-ann', o.valAnn],
    ['--val-images', o.valImages],
  ] as const) {
    if (path !== undefined && !existsSync(path)) throw new InputError(`${flag}: ${path} does not exist`);
  }
  const trainSplit = openCocoSplit(config, o.ann, o.images, true);
  const val = o.valAnn ? openCocoSplit(config, o.valAnn, o.valImages ?? o.images, false) : undefined;
  // evaluation maps the model's labels to the val file's ids: the same categories, or wrong AP
  if (val && !sameCategories(trainSplit.categories, val.categories)) {
    throw new InputError(`--val-ann: ${o.valAnn} has categories ${formatCategories(val.categories)}, --ann ${o.ann} has ${formatCategories(trainSplit.categories)}`);
  }
  const maxIters = o.iters ?? config.solver.maxIters;
  // every evaluation is on disk as soon as it is made; a resumed run keeps those before its checkpoint
  const evaluationsPath = join(o.out, 'evaluations.json');
  const evaluations: Evaluation[] = o.resume ? evaluationsUpTo(o.out) : [];
  const keep = (e: Evaluation) => {
    // a finished run resumed evaluates its last iteration again: the new result replaces the old
    const again = evaluations.findIndex((x) => x.iteration === e.iteration);
    if (again >= 0) evaluations.splice(again, 1);
    evaluations.push(e);
    writeFileAtomic(evaluationsPath, `${JSON.stringify(evaluations, null, 2)}\n`);
  };
  const evaluate = val
    ? async (detector: Parameters<typeof evaluateDetector>[0], iteration: number) => {
        const limit = iteration < maxIters ? o.evalLimit : undefined;
        const ev = await evaluateDetector(detector, val.source, val.json, val.categoryIds, { limit });
        const metrics = metricsOf(ev);
        keep({ iteration, metrics });
        return metrics;
      }
    : undefined;
  let result: TrainResult;
  try {
    result = await train(config, trainSplit.source, {
      outDir: o.out,
      maxIters,
      resume: o.resume,
      logFormat: o.logFormat,
      evaluate,
      out: o.out_,
      categories: trainSplit.categories,
      signal: o.signal,
    });
  } finally {
    writePlots(o.out, evaluations);
  }
  const out: TrainCommandResult = { iteration: result.iteration, interrupted: result.interrupted };
  if (val && !result.interrupted) {
    const ev = await evaluateDetector(result.detector, val.source, val.json, val.categoryIds);
    keep({ iteration: result.iteration, metrics: metricsOf(ev) });
    writeFileSync(join(o.out, 'eval.json'), `${JSON.stringify({ iteration: result.iteration, config: config.name, stats: ev.stats, flops: ev.flops, perCategoryAP: ev.perCategoryAP, msPerImage: ev.msPerImage }, null, 2)}\n`);
    writeFileSync(join(o.out, 'eval-summary.txt'), `${ev.summary}\n`);
    writeFileSync(join(o.out, 'results.json'), JSON.stringify(ev.results));
    out.final = { stats: ev.stats, flops: ev.flops };
  }
  // a run without evaluations replaces an older run's list all the same
  if (evaluations.length === 0) writeFileAtomic(evaluationsPath, '[]\n');
  writePlots(o.out, evaluations);
  result.detector.dispose();
  return out;
}

type Evaluation = TrainResult['evaluations'][number];

/** What the AP plot and evaluations.json keep of an evaluation. */
function metricsOf(ev: DetectorEvaluation): Record<string, number> {
  return { AP: ev.stats[0], AP50: ev.stats[1], AP75: ev.stats[2], gflopsAvg: ev.flops.avg, gflopsMin: ev.flops.min, gflopsMax: ev.flops.max };
}

/** The evaluations in `dir` at iterations up to its checkpoint's (those after it are redone). */
function evaluationsUpTo(dir: string): Evaluation[] {
  const path = join(dir, 'evaluations.json');
  if (!existsSync(path) || !hasCheckpoint(dir)) return [];
  let upTo: number;
  try {
    upTo = (JSON.parse(readFileSync(join(dir, CHECKPOINT_JSON), 'utf8')) as { iteration: number }).iteration;
  } catch {
    return []; // train() names what is wrong with the checkpoint
  }
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as Evaluation[]).filter((e) => e.iteration <= upTo);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON (${(e as Error).message}); move it away to resume without the earlier evaluations`);
  }
}

/** loss.png from metrics.jsonl and ap.png from the evaluations, in `dir`. */
export function writePlots(dir: string, evaluations: { iteration: number; metrics: Record<string, number> }[] = []): void {
  const jsonl = join(dir, 'metrics.jsonl');
  if (!existsSync(jsonl)) return;
  const recs: IterationRecord[] = readFileSync(jsonl, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  if (!recs.length) return;
  const names = Object.keys(recs[recs.length - 1].losses);
  const window = Math.max(1, Math.round(recs.length / 50));
  const series: Series[] = [
    { name: 'total', points: smooth(recs.map((r) => [r.iter + 1, r.loss]), window) },
    ...names.map((n) => ({ name: n, points: smooth(recs.map((r) => [r.iter + 1, r.losses[n]]), window) })),
  ];
  writeFileSync(join(dir, 'loss.png'), lineChart(series, { title: 'training loss', xLabel: 'iteration', yLabel: 'loss', logY: true }));
  if (evaluations.length) {
    writeFileSync(
      join(dir, 'ap.png'),
      lineChart(
        [
          { name: 'AP', points: evaluations.map((e) => [e.iteration, e.metrics.AP]) },
          { name: 'AP50', points: evaluations.map((e) => [e.iteration, e.metrics.AP50]) },
        ],
        { title: 'val AP', xLabel: 'iteration', yLabel: 'AP' },
      ),
    );
  }
}

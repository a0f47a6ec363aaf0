import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredTensor } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';
import type { DetectorConfig } from '../config';
import type { BatchSource } from '../data/batch-source';
import { Detector, isNormParameter } from '../model/detector';
import { detectorTargets } from '../model/kinds';
import { CHECKPOINT_JSON, type CheckpointCategory, type CheckpointMeta, formatCategories, hasCheckpoint, loadCheckpoint, sameCategories, saveCheckpoint } from './checkpoint';
import { type IterationRecord, type LogFormat, ProgressReporter, type TextSink } from './reporter';
import { learningRate } from './schedule';
import { MomentumSgd } from './sgd';
import { InputError } from '../input-error';

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

export interface TrainOptions {
  outDir: string;
  /** Overrides config.solver.maxIters. */
  maxIters?: number;
  /** Continue from outDir's checkpoint (error if there is none). */
  resume?: boolean;
  logFormat?: LogFormat;
  /** Stop (as if interrupted) after this many iterations of this call; for tests. */
  stopAfter?: number;
  /** Periodic evaluation (every config.solver.evalPeriod iterations, not at the end: the caller evaluates the result). */
  evaluate?: (detector: Detector, iteration: number) => Promise<Record<string, number>>;
  /** Called after each iteration with its record (tests, plots). */
  onIteration?: (r: IterationRecord) => void;
  /** Output stream for progress (default stdout). */
  out?: TextSink;
  /** The data's categories in label order, kept in every checkpoint (a resumed run must train on the same). */
  categories?: CheckpointCategory[];
  /**
   * Stops training when aborted (Ctrl-C in the CLI): the iteration in progress completes, a
   * checkpoint of it is written, and train() returns with `interrupted`, so `resume` loses nothing.
   */
  signal?: AbortSignal;
}

export interface TrainResult {
  detector: Detector;
  records: IterationRecord[];
  /** Iterations completed in total (including resumed ones). */
  iteration: number;
  lastCheckpoint?: CheckpointMeta;
  evaluations: { iteration: number; metrics: Record<string, number> }[];
  /** Stopped by `signal` before maxIters; the last checkpoint is at `iteration`. */
  interrupted: boolean;
}

async function storedOf(vars: Map<string, tf.Variable>): Promise<Map<string, StoredTensor>> {
  const out = new Map<string, StoredTensor>();
  for (const [k, v] of vars) out.set(k, { dtype: 'float32', shape: [...v.shape], data: (await v.data()) as Float32Array });
  return out;
}

/**
 * Trains a detector: SGD with momentum (no weight decay on norms unless configured), linear warmup,
 * step decay, optional clipping; checkpoints every `checkpointPeriod` iterations and at the end;
 * stops with NonFiniteLossError on a non-finite loss or gradient before touching the weights, so the
 * last checkpoint stays the last good one. The caller owns (and disposes) the returned detector.
 */
export async function train(config: DetectorConfig, data: BatchSource, options: TrainOptions): Promise<TrainResult> {
  const maxIters = options.maxIters ?? config.solver.maxIters;
  mkdirSync(options.outDir, { recursive: true });
  const detector = new Detector(config);
  const params = detector.trainableVariables();
  const sgd = new MomentumSgd({ ...config.solver.sgd }, (name) => isNormParameter(name) && config.solver.weightDecayNorm === 0);
  let start = 0;
  let lastCheckpoint: CheckpointMeta | undefined;
  if (options.resume) {
    try {
      if (!hasCheckpoint(options.outDir)) throw new InputError(`--resume: ${options.outDir} holds no checkpoint.json to resume from`);
      const ck = loadCheckpoint(options.outDir);
      const json = join(options.outDir, CHECKPOINT_JSON);
      if (!ck.meta.optimizer) {
        throw new InputError(`--resume: ${json} is an exported model (weights only, no optimizer state); train into a new --out`);
      }
      const trainedWith = (ck.meta.config as { name?: unknown } | undefined)?.name;
      if (trainedWith !== config.name) {
        throw new InputError(
          `--resume: ${json} was trained with config '${String(trainedWith)}', not '${config.name}'; resume with that config or train into a new --out`,
        );
      }
      if (ck.meta.categories && options.categories && !sameCategories(ck.meta.categories, options.categories)) {
        throw new InputError(
          `--resume: ${json} was trained on categories ${formatCategories(ck.meta.categories)}, the data given has ${formatCategories(options.categories)}`,
        );
      }
      detector.loadStateDict(ck.model, join(options.outDir, ck.meta.weights));
      const buffers = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [k, v] of ck.momentum) buffers.set(k, { shape: v.shape, data: v.data as Float32Array });
      sgd.loadState(buffers);
      start = ck.meta.iteration;
      lastCheckpoint = ck.meta;
    } catch (e) {
      sgd.dispose();
      detector.dispose();
      throw e;
    }
  }
  const jsonl = join(options.outDir, 'metrics.jsonl');
  if (existsSync(jsonl)) {
    // A fresh run starts a fresh log; a resumed one drops lines of iterations it will redo.
    const keep = start === 0 ? [] : readFileSync(jsonl, 'utf8').split('\n').filter((l) => l && JSON.parse(l).iter < start);
    writeFileSync(jsonl, keep.map((l) => `${l}\n`).join(''));
  }
  const reporter = new ProgressReporter(maxIters, start, options.logFormat ?? 'bar', jsonl, 20, options.out);
  const records: IterationRecord[] = [];
  const evaluations: TrainResult['evaluations'] = [];
  const varList = [...params.values()];
  const names = [...params.keys()];

  const checkpoint = async (iteration: number, lastLoss?: number) => {
    const { momentum, weightDecay, clipNorm } = sgd.options;
    lastCheckpoint = saveCheckpoint(options.outDir, await detector.stateDict(), await storedOf(sgd.state()), {
      iteration,
      config,
      optimizer: { kind: 'sgd', momentum, weightDecay, clipNorm, buffers: [...sgd.state().keys()] },
      rng: { seed: config.solver.seed, iteration },
      lastLoss,
      ...(options.categories ? { categories: options.categories } : {}),
    });
  };
  const evaluate = async (iteration: number) => {
    if (!options.evaluate) return;
    reporter.message(`evaluating at iteration ${iteration}...`);
    const metrics = await options.evaluate(detector, iteration);
    evaluations.push({ iteration, metrics });
    reporter.message(`eval @${iteration}: ${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`);
  };

  let iter = start;
  try {
    const stopAt = options.stopAfter === undefined ? maxIters : Math.min(maxIters, start + options.stopAfter);
    for (; iter < stopAt; iter++) {
      // aborted before this iteration began (while loading, or resuming): nothing new to save
      if (options.signal?.aborted) break;
      const t0 = Date.now();
      const batch = await data.trainBatch(iter);
      const targets = detectorTargets(config, batch, detector.grids(batch));
      const lr = learningRate(config.solver.schedule, iter);
      let kept: tf.Tensor[] = [];
      let termsT: Record<string, tf.Scalar> = {};
      let stats: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const r = detector.losses(batch, targets);
        termsT = r.terms;
        stats = [r.budgetRatio, r.used];
        kept = [...Object.values(r.terms), r.budgetRatio, r.used, r.full];
        for (const t of kept) tf.keep(t);
        return r.total;
      }, varList);
      batch.images.dispose();
      const termNames = Object.keys(termsT);
      const [lossV, ratioV, usedV, ...termV] = await Promise.all([value.data(), stats[0].data(), stats[1].data(), ...termNames.map((k) => termsT[k].data())]);
      const loss = lossV[0];
      const gradsByName: Record<string, tf.Tensor> = {};
      varList.forEach((v, i) => {
        if (grads[v.name]) gradsByName[names[i]] = grads[v.name];
      });
      tf.dispose([value, ...kept]);
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        const where = lastCheckpoint ? `the last good checkpoint is iteration ${lastCheckpoint.iteration} in ${options.outDir}` : 'no checkpoint was written yet';
        throw new NonFiniteLossError(`training stopped: loss is ${loss} at iteration ${iter + 1} (${termNames.map((k, i) => `${k} ${termV[i][0]}`).join(', ')}); ${where}`);
      }
      let gradNorm: number;
      try {
        gradNorm = await sgd.step(params, gradsByName, lr);
      } finally {
        tf.dispose(Object.values(grads));
      }
      void gradNorm;
      const ratio = ratioV.length ? Array.from(ratioV).reduce((a, b) => a + b, 0) / ratioV.length : 1;
      const used = usedV.length ? Array.from(usedV).reduce((a, b) => a + b, 0) / usedV.length : 0;
      const record: IterationRecord = {
        iter,
        loss,
        losses: Object.fromEntries(termNames.map((k, i) => [k, termV[i][0]])),
        lr,
        budgetRatio: config.head.kind === 'dynamic' ? ratio : 1,
        gflops: used / 2 ** 30,
        numTensors: tf.memory().numTensors,
        msPerIter: Date.now() - t0,
      };
      records.push(record);
      reporter.record(record);
      options.onIteration?.(record);
      // Let the event loop run: with cached images and a synchronous backend an iteration may
      // never wait on I/O, and then neither Ctrl-C's handler nor the progress output would run.
      await yieldToEventLoop();
      const done = iter + 1;
      const stopping = options.signal?.aborted === true && done < maxIters;
      if (done % config.solver.checkpointPeriod === 0 || done === maxIters || stopping) await checkpoint(done, loss);
      if (stopping) {
        iter = done;
        break;
      }
      if (config.solver.evalPeriod > 0 && done % config.solver.evalPeriod === 0 && done !== maxIters) await evaluate(done);
    }
  } catch (e) {
    reporter.stop();
    sgd.dispose();
    detector.dispose();
    throw e;
  }
  reporter.stop();
  sgd.dispose();
  return { detector, records, iteration: iter, lastCheckpoint, evaluations, interrupted: iter < maxIters };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

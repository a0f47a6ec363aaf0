import {
  assembleBatch,
  type DetectionBatch,
  type DetectorConfig,
  Detector,
  detectorConfigs,
  fcosDynamicTiny,
  isNormParameter,
  MomentumSgd,
} from '@dynhead/detectors';
import * as tf from '@tensorflow/tfjs-core';
import { formatProgramTimes, GPU_PROGRAMS_KEPT, passProfile, type ProgramTime, timeIt } from './measure';

export interface TrainStepOptions {
  /** A name from @dynhead/detectors' detectorConfigs (default: the official FCOS D8 Mid, R-50). */
  config: string;
  batch: number;
  /** Input size (already padded to the config's size divisibility by assembleBatch). */
  image: { height: number; width: number };
  /** Boxes per synthetic image. */
  boxes: number;
  repeats: number;
  warmup: number;
  seed: number;
  log: (line: string) => void;
}

export const TRAIN_STEP_DEFAULTS: TrainStepOptions = {
  config: 'fcos-dynamic-d8-mid',
  batch: 2,
  image: { height: 800, width: 1333 },
  boxes: 8,
  repeats: 3,
  warmup: 1,
  seed: 1,
  log: () => {},
};

/** The tiny FCOS of @dynhead/detectors (fcos-dynamic-tiny: a narrow GN ResNet-18 and a small dynamic head). */
export const TRAIN_STEP_QUICK: Partial<TrainStepOptions> = { config: fcosDynamicTiny.name, batch: 2, image: { height: 96, width: 128 } };

export interface TrainStepResult {
  bench: 'train-step';
  config: string;
  batch: number;
  image: { height: number; width: number };
  /** One step: forward, losses (with the budget), backward and the SGD update. */
  medianMs: number;
  minMs: number;
  samplesMs: number[];
  /** Peak bytes of live tensors during one step (weights, optimizer state and inputs included), MiB. */
  peakMiB: number;
  /** Tensors alive after the timed steps minus after the first: 0 when the step does not leak. */
  leakedTensors: number;
  /** Loss of the first step (the seeded initial weights): the same on every backend up to rounding. */
  firstLoss: number;
  /** Loss of the last step. */
  loss: number;
  parameters: number;
  /** tfjs kernels one step runs (absent before 2026-12-04). */
  kernels?: number;
  /** webgpu: compute dispatches of one step, which a GPU's host pays for one by one; else null. */
  dispatches?: number | null;
  /** webgpu with timestamp queries: GPU busy ms of one step (measure.ts's PassProfile.gpuMs); else null. */
  gpuMs?: number | null;
  /** With gpuMs: the program classes that took the most of it. */
  gpuPrograms?: ProgramTime[];
}

function lookupConfig(name: string): DetectorConfig {
  const all: Record<string, DetectorConfig> = { ...detectorConfigs, [fcosDynamicTiny.name]: fcosDynamicTiny };
  const config = all[name];
  if (!config) throw new Error(`bench train-step: unknown config '${name}' (known: ${Object.keys(all).join(', ')})`);
  return config;
}

/** Seeded random images with a few random boxes of random classes. */
export function syntheticBatch(o: TrainStepOptions, config: DetectorConfig): DetectionBatch {
  let s = o.seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const { height, width } = o.image;
  const items = Array.from({ length: o.batch }, (_, b) => {
    const data = new Uint8Array(height * width * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
    const boxes = new Float32Array(o.boxes * 4);
    const labels = new Int32Array(o.boxes);
    for (let g = 0; g < o.boxes; g++) {
      const w = (0.1 + 0.5 * rand()) * width;
      const h = (0.1 + 0.5 * rand()) * height;
      const x = rand() * (width - w);
      const y = rand() * (height - h);
      boxes.set([x, y, x + w, y + h], 4 * g);
      labels[g] = Math.floor(rand() * config.head.numClasses);
    }
    const sample = { imageId: b + 1, file: `synthetic-${b}.png`, width, height, boxes, labels };
    return { image: { data, width, height }, sample, flip: false };
  });
  return assembleBatch(items, config.input.sizeDivisibility);
}

/**
 * Times one training step of a detector from @dynhead/detectors (forward, every loss term,
 * gradients of all trainable variables, momentum SGD update) on the active backend.
 */
export async function runTrainStepBench(options: Partial<TrainStepOptions> = {}): Promise<TrainStepResult> {
  const o: TrainStepOptions = { ...TRAIN_STEP_DEFAULTS, ...options };
  if (!(Number.isInteger(o.batch) && o.batch >= 1)) throw new Error(`bench train-step: batch must be a positive integer, got ${o.batch}`);
  const config = lookupConfig(o.config);
  const detector = new Detector(config);
  const params = detector.trainableVariables();
  const sgd = new MomentumSgd(config.solver.sgd, (name) => config.solver.weightDecayNorm === 0 && isNormParameter(name));
  const batch = syntheticBatch(o, config);
  let loss = Number.NaN;
  const step = async () => {
    const vars = [...params.values()];
    const { value, grads } = tf.variableGrads(() => detector.losses(batch).total, vars);
    const byName: Record<string, tf.Tensor> = {};
    for (const [name, v] of params) if (grads[v.name]) byName[name] = grads[v.name];
    await sgd.step(params, byName, config.solver.schedule.baseLr);
    loss = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads)]);
  };
  try {
    o.log(`train-step: ${config.name}, batch ${o.batch}, ${batch.images.shape[1]}x${batch.images.shape[2]}`);
    await step();
    const firstLoss = loss;
    const afterFirst = tf.memory().numTensors;
    const timing = await timeIt(step, o.repeats, Math.max(0, o.warmup - 1));
    const leakedTensors = tf.memory().numTensors - afterFirst;
    const profile = await passProfile(step);
    const parameters = [...params.values()].reduce((n, v) => n + v.size, 0);
    return {
      bench: 'train-step',
      config: config.name,
      batch: o.batch,
      image: { height: batch.images.shape[1], width: batch.images.shape[2] },
      medianMs: timing.medianMs,
      minMs: timing.minMs,
      samplesMs: timing.samplesMs,
      peakMiB: profile.peakMiB,
      leakedTensors,
      firstLoss,
      loss,
      parameters,
      kernels: profile.kernels,
      dispatches: profile.dispatches,
      gpuMs: profile.gpuMs,
      ...(profile.programs ? { gpuPrograms: profile.programs.slice(0, GPU_PROGRAMS_KEPT) } : {}),
    };
  } finally {
    batch.images.dispose();
    sgd.dispose();
    detector.dispose();
  }
}

export function trainStepTable(r: TrainStepResult): string {
  // webgpu: a step's dispatches and, with timestamp queries, the GPU's busy share of its time
  const gpu = r.dispatches != null;
  const busy = r.gpuMs != null;
  const lines = [
    `| config | batch | input | median ms / step | min ms | peak MiB | leaked tensors | parameters | first loss | last loss | kernels / step${gpu ? ' | dispatches / step' : ''}${busy ? ' | GPU busy ms / step' : ''} |`,
    `| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---:${gpu ? ' | ---:' : ''}${busy ? ' | ---:' : ''} |`,
    `| ${r.config} | ${r.batch} | ${r.image.height}x${r.image.width} | ${r.medianMs.toFixed(1)} | ${r.minMs.toFixed(1)} | ${r.peakMiB.toFixed(1)} | ${r.leakedTensors} | ${r.parameters} | ${r.firstLoss.toFixed(5)} | ${r.loss.toFixed(5)} | ${r.kernels ?? '-'}${gpu ? ` | ${r.dispatches}` : ''}${busy ? ` | ${(r.gpuMs as number).toFixed(1)}` : ''} |`,
  ];
  if (r.gpuPrograms) {
    lines.push('', `GPU time by program (one step; ms, dispatches): ${formatProgramTimes(r.gpuPrograms)}`);
  }
  return lines.join('\n');
}

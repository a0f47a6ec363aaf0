import { DynamicHead } from '@dynhead/router';
import * as tf from '@tensorflow/tfjs-core';
import { syntheticFeatures } from './features';
import { disposeOutputs } from './head-outputs';
import { type ImageSize, levelShapes } from './levels';
import { headMatches, headVariants } from './variants';

export interface DispatchCountOptions {
  image: ImageSize;
  batches: number[];
  channels: number;
  /** only heads whose name contains one of these (any case; all when empty), as the head bench's --only */
  only: string[];
  log: (line: string) => void;
}

export const DISPATCH_COUNT_DEFAULTS: DispatchCountOptions = { image: { height: 800, width: 1333 }, batches: [1], channels: 256, only: ['FCOS', 'D8 Mid'], log: () => {} };

export interface DispatchCountRow {
  head: string;
  batch: number;
  dispatches: number;
  /** dispatches per program class, most first */
  programs: { name: string; dispatches: number }[];
  /** buffer-to-buffer copies encoded (row blocks cut or stacked by `splitRows`/`concatRows`, uploads): commands, but no program, bind group or uniforms */
  copies: number;
}

export interface DispatchCountResult {
  bench: 'dispatches';
  image: ImageSize;
  channels: number;
  rows: DispatchCountRow[];
}

/** The slice of tfjs-backend-webgpu's backend counted here. */
interface CountedBackend {
  runWebGPUProgram?: (program: object, ...rest: unknown[]) => unknown;
  device?: { createCommandEncoder(): object };
}

type CopyFunction = (...args: unknown[]) => unknown;

/** Counts every command encoder's buffer copies until the returned function restores the method. */
function countCopies(backend: CountedBackend, counted: () => void): () => void {
  const encoderType = backend.device ? (Object.getPrototypeOf(backend.device.createCommandEncoder()) as { copyBufferToBuffer?: CopyFunction }) : undefined;
  const copy = encoderType?.copyBufferToBuffer;
  if (!encoderType || !copy) return () => {};
  encoderType.copyBufferToBuffer = function (this: unknown, ...args: unknown[]) {
    counted();
    return copy.apply(this, args);
  };
  return () => {
    encoderType.copyBufferToBuffer = copy;
  };
}

/**
 * The WebGPU programs one inference pass of each head dispatches, counted as the passes are
 * encoded: tfjs's submit batch is set past them, so nothing runs and no output is read. A pass at
 * the paper's size therefore counts in seconds even on SwiftShader, in either form of the kernels
 * (`setWebGPUTuning`), where running it would take minutes; but no buffer is reused before a
 * submit, so each batch's passes hold all they allocate (a D8 pass at 800x1333: ~4 GB at batch 1,
 * more than this 24 GB machine at batch 8). A first pass makes what a head keeps (packed weights),
 * so the count is the steady state's. On webgpu the dynamic heads read no mask back, so the count
 * does not depend on the gates: the heads run with their initial weights.
 */
export async function runDispatchCount(options: Partial<DispatchCountOptions> = {}): Promise<DispatchCountResult> {
  const o = { ...DISPATCH_COUNT_DEFAULTS, ...options };
  const backend = tf.backend() as unknown as CountedBackend;
  const original = backend.runWebGPUProgram;
  if (tf.getBackend() !== 'webgpu' || !original) throw new Error(`bench dispatches: counts WebGPU programs; the backend is ${tf.getBackend()}`);
  const variants = headVariants(o.channels).filter((v) => headMatches(v.name, o.only));
  if (variants.length === 0) throw new Error(`bench dispatches: --only ${o.only.join(',')} matches no head`);
  const shapes = levelShapes(o.image);
  const rows: DispatchCountRow[] = [];
  let programs = new Map<string, number>();
  let copies = 0;
  const restoreCopies = countCopies(backend, () => copies++);
  backend.runWebGPUProgram = (program: object, ...rest: unknown[]) => {
    const name = program.constructor.name;
    programs.set(name, (programs.get(name) ?? 0) + 1);
    return original.call(backend, program, ...rest);
  };
  const flag = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
  const submitBatch = tf.env().get(flag);
  tf.env().set(flag, Number.MAX_SAFE_INTEGER);
  try {
    for (const batch of o.batches) {
      const features = syntheticFeatures(shapes, batch, o.channels, 1);
      try {
        for (const variant of variants) {
          const head = new DynamicHead(variant.config, 1);
          try {
            disposeOutputs(await head.infer(features, { recordGates: false }));
            programs = new Map<string, number>();
            copies = 0;
            disposeOutputs(await head.infer(features, { recordGates: false }));
            const sorted = [...programs].map(([name, dispatches]) => ({ name, dispatches })).sort((a, b) => b.dispatches - a.dispatches || a.name.localeCompare(b.name));
            const row = { head: variant.name, batch, dispatches: sorted.reduce((a, p) => a + p.dispatches, 0), programs: sorted, copies };
            rows.push(row);
            o.log(`${row.head} batch ${batch}: ${row.dispatches} dispatches, ${row.copies} buffer copies`);
          } finally {
            head.dispose();
          }
        }
      } finally {
        tf.dispose(features);
      }
    }
  } finally {
    backend.runWebGPUProgram = original;
    restoreCopies();
    tf.env().set(flag, submitBatch);
  }
  return { bench: 'dispatches', image: o.image, channels: o.channels, rows };
}

/** The counts as a markdown table: one row per head and batch, its programs by count. */
export function dispatchCountTable(r: DispatchCountResult): string {
  const lines = [
    `Dispatches of one inference pass, P3..P7 of ${r.image.height}x${r.image.width}, C=${r.channels} (counted as encoded, not run):`,
    '',
    '| head | batch | dispatches | buffer copies | by program |',
    '| --- | ---: | ---: | ---: | --- |',
    ...r.rows.map((row) => `| ${row.head} | ${row.batch} | ${row.dispatches} | ${row.copies} | ${row.programs.map((p) => `${p.name} ${p.dispatches}`).join(', ')} |`),
  ];
  return lines.join('\n');
}

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type StoredTensor, parseSafetensors, serializeSafetensors } from '@dynhead/safetensors';
import { InputError } from '../input-error';

/** The small JSON beside each checkpoint's tensors. */
export interface CheckpointMeta {
  /** Format tag, for a clear error on foreign files. */
  format: 'dynhead-checkpoint/1';
  /** Iterations completed: training resumes at this iteration. */
  iteration: number;
  /** The detector config the weights belong to. */
  config: unknown;
  /** Name of the safetensors file (in the same directory). */
  weights: string;
  /** The optimizer's settings and buffers; absent in an export (weights only), which cannot be resumed. */
  optimizer?: { kind: 'sgd'; momentum: number; weightDecay: number; clipNorm: number; buffers: string[] };
  /** The data order and flips are a pure function of seed and iteration (absent in an export). */
  rng?: { seed: number; iteration: number };
  /** Set by `dynhead export`: the checkpoint it came from and how its floats are stored. */
  exported?: { from: string; floats: 'F32' | 'F16' };
  /** Losses of the last iteration, for the log. */
  lastLoss?: number;
  /**
   * The training data's categories in label order (label i is categories[i]), so that inference
   * names what it finds and evaluation maps labels to the right COCO ids. Absent in checkpoints
   * written before it existed or trained without a COCO file.
   */
  categories?: CheckpointCategory[];
  time: string;
}

export interface CheckpointCategory {
  id: number;
  name: string;
}

/** Whether two category lists are the same ids and names in the same (label) order. */
export function sameCategories(a: CheckpointCategory[], b: CheckpointCategory[]): boolean {
  return a.length === b.length && a.every((c, i) => c.id === b[i].id && c.name === b[i].name);
}

/** A category list for messages: `[1 RBC, 2 WBC, 3 Platelets]`. */
export function formatCategories(cs: CheckpointCategory[]): string {
  return `[${cs.map((c) => `${c.id} ${c.name}`).join(', ')}]`;
}

export const CHECKPOINT_JSON = 'checkpoint.json';
const MODEL_PREFIX = 'model.';
const MOMENTUM_PREFIX = 'optimizer.momentum.';

/** Writes bytes to a temp file, fsyncs it, then renames it over `path` (atomic on POSIX). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * The safetensors bytes a checkpoint's JSON points to: the model under `model.`, the momentum
 * buffers (none in an export) under `optimizer.momentum.`, floats as `floats`.
 */
export function serializeCheckpointWeights(
  model: Map<string, StoredTensor>,
  momentum: Map<string, StoredTensor>,
  iteration: number,
  floats: 'F32' | 'F16' = 'F32',
): Uint8Array {
  const all = new Map<string, StoredTensor>();
  for (const [k, v] of model) all.set(MODEL_PREFIX + k, v);
  for (const [k, v] of momentum) all.set(MOMENTUM_PREFIX + k, v);
  return serializeSafetensors(all, { format: 'dynhead-checkpoint/1', iteration: String(iteration) }, { floats });
}

/**
 * Saves model weights and optimizer buffers as safetensors, then the JSON that points to them.
 * The JSON is replaced last, so a crash at any moment leaves the previous checkpoint readable.
 * Older weight files beyond `keep` are removed afterwards.
 */
export function saveCheckpoint(
  dir: string,
  model: Map<string, StoredTensor>,
  momentum: Map<string, StoredTensor>,
  meta: Omit<CheckpointMeta, 'format' | 'weights' | 'time'>,
  keep = 2,
): CheckpointMeta {
  const weights = `model_${String(meta.iteration).padStart(7, '0')}.safetensors`;
  writeFileAtomic(join(dir, weights), serializeCheckpointWeights(model, momentum, meta.iteration));
  const full: CheckpointMeta = { format: 'dynhead-checkpoint/1', weights, time: new Date().toISOString(), ...meta };
  writeFileAtomic(join(dir, CHECKPOINT_JSON), `${JSON.stringify(full, null, 2)}\n`);
  const old = readdirSync(dir)
    .filter((f) => /^model_\d{7}\.safetensors$/.test(f) && f !== weights)
    .sort();
  for (const f of old.slice(0, Math.max(0, old.length - (keep - 1)))) unlinkSync(join(dir, f));
  return full;
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  model: Map<string, StoredTensor>;
  momentum: Map<string, StoredTensor>;
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_JSON));
}

/** Reads the checkpoint a directory's checkpoint.json points to; errors name the file at fault. */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const jsonPath = join(dir, CHECKPOINT_JSON);
  if (!existsSync(jsonPath)) throw new InputError(`${jsonPath}: no checkpoint here (expected ${CHECKPOINT_JSON} written by dynhead train)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new InputError(`${jsonPath}: not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== 'dynhead-checkpoint/1') throw new InputError(`${jsonPath}: field "format" is ${JSON.stringify(meta.format)}, expected "dynhead-checkpoint/1"`);
  if (!Number.isInteger(meta.iteration) || meta.iteration < 0) throw new InputError(`${jsonPath}: field "iteration" must be a non-negative integer`);
  const weightsPath = join(dir, meta.weights);
  if (!existsSync(weightsPath)) throw new InputError(`${jsonPath}: field "weights" names ${meta.weights}, which does not exist in ${dir}`);
  const file = parseSafetensors(new Uint8Array(readFileSync(weightsPath)), weightsPath);
  const model = new Map<string, StoredTensor>();
  const momentum = new Map<string, StoredTensor>();
  for (const [k, v] of file.tensors) {
    if (k.startsWith(MODEL_PREFIX)) model.set(k.slice(MODEL_PREFIX.length), v);
    else if (k.startsWith(MOMENTUM_PREFIX)) momentum.set(k.slice(MOMENTUM_PREFIX.length), v);
  }
  return { meta, model, momentum };
}

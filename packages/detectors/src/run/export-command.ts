import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../input-error';
import { CHECKPOINT_JSON, type CheckpointMeta, loadCheckpoint, serializeCheckpointWeights, writeFileAtomic } from '../train/checkpoint';

export interface ExportCommandOptions {
  /** A training output folder (checkpoint.json and its safetensors). */
  checkpoint: string;
  /** The folder to write; not the checkpoint's own. */
  out: string;
  /** Store the weights as float16: half the bytes, each weight rounded to the nearest half. */
  half?: boolean;
}

export interface ExportResult {
  /** The weights file written, and its size against the checkpoint's (which holds the optimizer state too). */
  weights: string;
  bytes: number;
  checkpointBytes: number;
  floats: 'F32' | 'F16';
}

/** The name of an export's weights file. */
export const EXPORTED_WEIGHTS = 'model.safetensors';

/**
 * `dynhead export`: the model of a checkpoint without its optimizer state, optionally in float16,
 * as a folder that `dynhead infer` / `eval` and the browser demo (`?checkpoint=`) read like a
 * checkpoint: what to ship to a browser. Training refuses to resume from it.
 */
export function runExport(o: ExportCommandOptions): ExportResult {
  if (resolve(o.out) === resolve(o.checkpoint)) throw new InputError(`--out: ${o.out} is the checkpoint's own folder; export into another`);
  const ck = loadCheckpoint(o.checkpoint);
  const floats = o.half ? 'F16' : 'F32';
  mkdirSync(o.out, { recursive: true });
  const weights = join(o.out, EXPORTED_WEIGHTS);
  const bytes = serializeCheckpointWeights(ck.model, new Map(), ck.meta.iteration, floats);
  writeFileAtomic(weights, bytes);
  const { optimizer: _optimizer, rng: _rng, lastLoss: _lastLoss, ...kept } = ck.meta;
  const meta: CheckpointMeta = { ...kept, weights: EXPORTED_WEIGHTS, time: new Date().toISOString(), exported: { from: resolve(o.checkpoint), floats } };
  // the JSON last, as a checkpoint's: a folder with a checkpoint.json always has its weights
  writeFileAtomic(join(o.out, CHECKPOINT_JSON), `${JSON.stringify(meta, null, 2)}\n`);
  return { weights, bytes: bytes.byteLength, checkpointBytes: statSync(join(o.checkpoint, ck.meta.weights)).size, floats };
}

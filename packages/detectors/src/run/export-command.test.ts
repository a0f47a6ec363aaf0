import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { float16ToFloat32, float32ToFloat16 } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { BCCD_CATEGORIES, BCCD_IMAGES, bccdSubset, tempDirs, tinyCheckpoint, tinyTrain } from '../../../../test/fixtures';
import { loadCheckpoint } from '../train/checkpoint';
import { runEval } from './eval-command';
import { runExport } from './export-command';

const tempDir = tempDirs('export');

describe('runExport', () => {
  it('writes the model alone, exact in float32 and rounded to halves in float16; resume refuses it', async () => {
    await activate('wasm');
    const dir = tempDir();
    const ck = join(dir, 'ck');
    await tinyCheckpoint(ck, 2);

    const f32 = runExport({ checkpoint: ck, out: join(dir, 'f32') });
    const f16 = runExport({ checkpoint: ck, out: join(dir, 'f16'), half: true });
    expect(f32.checkpointBytes).toBe(statSync(join(ck, 'model_0000002.safetensors')).size);
    expect(f32.bytes).toBe(statSync(f32.weights).size);
    // no optimizer state: about half the checkpoint (the momentum is one more copy of the weights)
    expect(f32.bytes / f32.checkpointBytes).toBeLessThan(0.55);
    expect(f16.bytes / f32.bytes).toBeLessThan(0.55);
    const original = loadCheckpoint(ck);
    const full = loadCheckpoint(join(dir, 'f32'));
    const half = loadCheckpoint(join(dir, 'f16'));
    expect(full.momentum.size).toBe(0);
    expect(full.meta).toMatchObject({ iteration: 2, categories: BCCD_CATEGORIES, exported: { floats: 'F32' } });
    expect(full.meta.optimizer).toBeUndefined();
    // every weight stored as F16, under the checkpoint's key names
    const bytes = new Uint8Array(readFileSync(f16.weights));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)))));
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string }][];
    expect(new Set(entries.map(([, e]) => e.dtype))).toEqual(new Set(['F16']));
    expect(entries.map(([k]) => k).sort()).toEqual([...original.model.keys()].map((k) => `model.${k}`).sort());
    for (const [name, t] of original.model) {
      expect(full.model.get(name), name).toEqual(t);
      expect(Array.from(half.model.get(name)?.data ?? []), name).toEqual(Array.from(t.data, (v) => float16ToFloat32(float32ToFloat16(v))));
    }

    // the float32 export detects exactly as the checkpoint does
    const { ann } = bccdSubset(dir, 'val', 2);
    const evalOf = (checkpoint: string) => runEval({ checkpoint, ann, images: BCCD_IMAGES });
    const [a, b] = [await evalOf(ck), await evalOf(join(dir, 'f32'))];
    expect(b.results).toEqual(a.results);
    expect(b.results.length).toBeGreaterThan(0);

    // an export has no optimizer state to resume from, and is not written over its checkpoint
    await expect(tinyTrain(join(dir, 'f16'), { maxIters: 3, resume: true })).rejects.toThrow(
      `--resume: ${join(dir, 'f16', 'checkpoint.json')} is an exported model (weights only, no optimizer state); train into a new --out`,
    );
    expect(() => runExport({ checkpoint: ck, out: `${ck}/` })).toThrow(`--out: ${ck}/ is the checkpoint's own folder; export into another`);
  }, 120_000);
});

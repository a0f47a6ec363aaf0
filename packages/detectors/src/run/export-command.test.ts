import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoJson } from '@dynhead/coco';
import { float16ToFloat32, float32ToFloat16 } from '@dynhead/safetensors';
import { afterAll, describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { fcosDynamicTiny } from '../config';
import { BatchSource } from '../data/batch-source';
import { syntheticDataset } from '../data/synthetic';
import { loadCheckpoint } from '../train/checkpoint';
import { train } from '../train/trainer';
import { runEval } from './eval-command';
import { runExport } from './export-command';

const BCCD = fileURLToPath(new URL('../../../../../shared/datasets/bccd', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('runExport', () => {
  it('writes the model alone, exact in float32 and rounded to halves in float16; resume refuses it', async () => {
    await activate('wasm');
    const dir = mkdtempSync(join(tmpdir(), 'dynhead-export-'));
    dirs.push(dir);
    const ck = join(dir, 'ck');
    const config = { ...fcosDynamicTiny, test: { ...fcosDynamicTiny.test, scoreThreshold: 0 } };
    const { samples, decode } = syntheticDataset(2, 64, 48, 3);
    const data = () => new BatchSource(samples, { imagesDir: '/synthetic', input: config.input, batchSize: 2, hflipProb: 0, seed: 1, decode, cache: true });
    const categories = ['RBC', 'WBC', 'Platelets'].map((name, i) => ({ id: i + 1, name }));
    (await train(config, data(), { outDir: ck, maxIters: 2, logFormat: 'none', categories })).detector.dispose();

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
    expect(full.meta).toMatchObject({ iteration: 2, categories, exported: { floats: 'F32' } });
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
    const gtAll = JSON.parse(readFileSync(join(BCCD, 'annotations/instances_val.json'), 'utf8')) as CocoJson;
    const images = gtAll.images.slice(0, 2);
    const ids = new Set(images.map((i) => i.id));
    const ann = join(dir, 'val.json');
    writeFileSync(ann, JSON.stringify({ ...gtAll, images, annotations: gtAll.annotations.filter((a) => ids.has(a.image_id)) }));
    const evalOf = (checkpoint: string) => runEval({ checkpoint, ann, images: join(BCCD, 'images') });
    const [a, b] = [await evalOf(ck), await evalOf(join(dir, 'f32'))];
    expect(b.results).toEqual(a.results);
    expect(b.results.length).toBeGreaterThan(0);

    // an export has no optimizer state to resume from, and is not written over its checkpoint
    await expect(train(config, data(), { outDir: join(dir, 'f16'), maxIters: 3, logFormat: 'none', resume: true })).rejects.toThrow(
      `--resume: ${join(dir, 'f16', 'checkpoint.json')} is an exported model (weights only, no optimizer state); train into a new --out`,
    );
    expect(() => runExport({ checkpoint: ck, out: `${ck}/` })).toThrow(`--out: ${ck}/ is the checkpoint's own folder; export into another`);
  }, 120_000);
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoJson } from '@dynhead/coco';
import { afterAll, describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { InputError } from '../input-error';
import { runTrain } from './train-command';

const BCCD = fileURLToPath(new URL('../../../../../shared/datasets/bccd', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two BCCD val images as a COCO file in `dir`. */
function twoImages(dir: string): { ann: string; gt: CocoJson } {
  const full = JSON.parse(readFileSync(join(BCCD, 'annotations/instances_val.json'), 'utf8')) as CocoJson;
  const images = full.images.slice(0, 2);
  const ids = new Set(images.map((i) => i.id));
  const gt: CocoJson = { ...full, images, annotations: full.annotations.filter((a) => ids.has(a.image_id)) };
  const ann = join(dir, 'train.json');
  writeFileSync(ann, JSON.stringify(gt));
  return { ann, gt };
}

describe('runTrain', () => {
  it('keeps every evaluation in evaluations.json across a resume', async () => {
    await activate('wasm');
    const dir = mkdtempSync(join(tmpdir(), 'dynhead-train-cmd-'));
    dirs.push(dir);
    const { ann } = twoImages(dir);
    const out = join(dir, 'run');
    const options = { config: 'fcos-dynamic-tiny', ann, images: join(BCCD, 'images'), valAnn: ann, out, logFormat: 'none' as const, evalPeriod: 1 };
    const first = await runTrain({ ...options, iters: 2 });
    expect(first.interrupted).toBe(false);
    const second = await runTrain({ ...options, iters: 4, resume: true });
    const evaluations = JSON.parse(readFileSync(join(out, 'evaluations.json'), 'utf8')) as { iteration: number; metrics: { AP: number } }[];
    // 1: periodic, 2: the first run's final, 3: periodic after resuming, 4: final
    expect(evaluations.map((e) => e.iteration)).toEqual([1, 2, 3, 4]);
    expect(evaluations[3].metrics.AP).toBe(second.final?.stats[0]);
    expect(evaluations[1].metrics.AP).toBe(first.final?.stats[0]);
  }, 120_000);

  it('refuses a val file whose categories differ from the training file, before training', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynhead-train-cmd-'));
    dirs.push(dir);
    const { ann, gt } = twoImages(dir);
    const valAnn = join(dir, 'val.json');
    // the same three names, with WBC and Platelets' ids swapped
    writeFileSync(valAnn, JSON.stringify({ ...gt, categories: gt.categories.map((c) => ({ ...c, id: [0, 1, 3, 2][c.id] })) }));
    const out = join(dir, 'run');
    const error = await runTrain({ config: 'fcos-dynamic-tiny', ann, images: join(BCCD, 'images'), valAnn, out, iters: 1, logFormat: 'none' }).catch((e) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`--val-ann: ${valAnn} has categories [1 RBC, 2 Platelets, 3 WBC], --ann ${ann} has [1 RBC, 2 WBC, 3 Platelets]`);
  });
});

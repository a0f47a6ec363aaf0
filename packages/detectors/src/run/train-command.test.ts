import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { BCCD_IMAGES, bccdSubset, tempDirs } from '../../../../test/fixtures';
import { InputError } from '../input-error';
import { runTrain } from './train-command';

const tempDir = tempDirs('train-cmd');

describe('runTrain', () => {
  it('keeps every evaluation in evaluations.json across a resume', async () => {
    await activate('wasm');
    const dir = tempDir();
    const { ann } = bccdSubset(dir, 'val', 2);
    const out = join(dir, 'run');
    const options = { config: 'fcos-dynamic-tiny', ann, images: BCCD_IMAGES, valAnn: ann, out, logFormat: 'none' as const, evalPeriod: 1 };
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
    const dir = tempDir();
    const { ann, gt } = bccdSubset(dir, 'val', 2, 'train.json');
    const valAnn = join(dir, 'val.json');
    // the same three names, with WBC and Platelets' ids swapped
    writeFileSync(valAnn, JSON.stringify({ ...gt, categories: gt.categories.map((c) => ({ ...c, id: [0, 1, 3, 2][c.id] })) }));
    const out = join(dir, 'run');
    const error = await runTrain({ config: 'fcos-dynamic-tiny', ann, images: BCCD_IMAGES, valAnn, out, iters: 1, logFormat: 'none' }).catch((e) => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(`--val-ann: ${valAnn} has categories [1 RBC, 2 Platelets, 3 WBC], --ann ${ann} has [1 RBC, 2 WBC, 3 Platelets]`);
  });
});

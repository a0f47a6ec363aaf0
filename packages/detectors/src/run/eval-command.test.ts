import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COCOEvaluator, parseResults } from '@dynhead/coco';
import { describe, expect, it } from 'vitest';
import { activate } from '../../../../test/backends';
import { BCCD_IMAGES, bccdSubset, tempDirs, tinyCheckpoint } from '../../../../test/fixtures';
import { runEval } from './eval-command';
import { runInfer } from './infer-command';

const tempDir = tempDirs('eval');

describe('runEval', () => {
  it('writes a COCO results file that scores the same stats; eval and infer use the categories the checkpoint keeps', async () => {
    await activate('wasm');
    const dir = tempDir();
    await tinyCheckpoint(dir);
    const { ann, gt } = bccdSubset(dir, 'val', 3);
    const results = join(dir, 'results.json');
    const ev = await runEval({ checkpoint: dir, ann, images: BCCD_IMAGES, results });
    expect(ev.images).toBe(3);
    expect(ev.results.length).toBeGreaterThan(100);
    const read = parseResults(readFileSync(results, 'utf8'), gt, results);
    expect(read).toEqual(ev.results);
    expect(new COCOEvaluator().evaluate(gt, read).stats).toEqual(ev.stats);

    // the checkpoint keeps the categories: an annotation file with other ids is refused, naming both
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...gt, categories: gt.categories.map((c) => ({ ...c, id: c.id + 10 })), annotations: gt.annotations.map((a) => ({ ...a, category_id: a.category_id + 10 })) }));
    await expect(runEval({ checkpoint: dir, ann: other, images: BCCD_IMAGES })).rejects.toThrow(
      `--ann: ${other} has categories [11 RBC, 12 WBC, 13 Platelets], the checkpoint was trained on [1 RBC, 2 WBC, 3 Platelets]`,
    );

    // and inference names what it finds
    // into a folder that does not exist yet
    const png = join(dir, 'figures', 'infer.png');
    const r = await runInfer({ checkpoint: dir, image: join(BCCD_IMAGES, gt.images[0].file_name), out: png, scoreThreshold: 0 });
    expect(r.classNames).toEqual(['RBC', 'WBC', 'Platelets']);
    expect(r.detections.scores.length).toBeGreaterThan(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);
});

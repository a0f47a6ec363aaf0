import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fcosDynamicTiny } from '../config';
import { InputError } from '../input-error';
import { openCocoSplit } from './split';

const BCCD = fileURLToPath(new URL('../../../../../shared/datasets/bccd', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Three BCCD images in a COCO file, of which only `present` are copied into the images folder. */
function splitWith(present: string[]): { ann: string; images: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dynhead-split-'));
  dirs.push(dir);
  const files = ['BloodImage_00000.jpg', 'BloodImage_00001.jpg', 'BloodImage_00002.jpg'];
  for (const f of present) copyFileSync(join(BCCD, 'images', f), join(dir, f));
  const ann = join(dir, 'ann.json');
  writeFileSync(
    ann,
    JSON.stringify({
      images: files.map((file_name, id) => ({ id, file_name, width: 640, height: 480 })),
      annotations: [{ id: 1, image_id: 0, category_id: 1, bbox: [10, 20, 30, 40], area: 1200, iscrowd: 0 }],
      categories: [1, 2, 3].map((id) => ({ id, name: `c${id}` })),
    }),
  );
  return { ann, images: dir };
}

describe('openCocoSplit', () => {
  it('names the images missing from the folder before any training starts', () => {
    const { ann, images } = splitWith(['BloodImage_00001.jpg']);
    let error: unknown;
    try {
      openCocoSplit(fcosDynamicTiny, ann, images, true);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${ann}: 2 of 3 images are not in ${images} (BloodImage_00000.jpg, BloodImage_00002.jpg); \`dynhead validate\` checks a dataset in full`,
    );
  });

  it('opens a split whose images are all there, with its categories as labels', () => {
    const { ann, images } = splitWith(['BloodImage_00000.jpg', 'BloodImage_00001.jpg', 'BloodImage_00002.jpg']);
    const split = openCocoSplit(fcosDynamicTiny, ann, images, true);
    expect(split.categoryIds).toEqual([1, 2, 3]);
    expect(split.samples.map((s) => [s.imageId, s.labels.length])).toEqual([[0, 1], [1, 0], [2, 0]]);
    expect(Array.from(split.samples[0].boxes)).toEqual([10, 20, 40, 60]);
  });
});

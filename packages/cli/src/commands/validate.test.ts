import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../../../test/fixtures';
import { bufferIO, main } from '../index';

const tempDir = tempDirs('validate');

describe('dynhead validate', () => {
  it('lists every problem with its file and field, and exits 2', async () => {
    const dir = tempDir();
    const ann = join(dir, 'ann.json');
    writeFileSync(
      ann,
      JSON.stringify({
        images: [{ id: 1, file_name: 'nope.jpg', width: 10, height: 10 }],
        annotations: [{ id: 1, image_id: 2, category_id: 1, bbox: [0, 0, 5, 5], area: 25, iscrowd: 0 }],
        categories: [{ id: 1, name: 'a' }],
      }),
    );
    const io = bufferIO();
    expect(await main(['validate', '--ann', ann, '--images', dir], io)).toBe(2);
    expect(`${io.stdout}${io.stderr}`.trim().split('\n').sort()).toEqual(
      [
        `dynhead: ${ann}: 2 errors, 0 warnings`,
        `error: ${ann}: annotations[0].image_id: unknown image id 2 (not in images)`,
        `error: ${ann}: images[0].file_name: image file ${join(dir, 'nope.jpg')} does not exist`,
      ].sort(),
    );
  });
});

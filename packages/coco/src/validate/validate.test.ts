import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CocoDataset, CocoFormatError, type Problem, runValidate, validateCoco } from '../index';
import { BCCD_IMAGES, BCCD_TRAIN } from '../test-support/shared';

// Broken copies of a slice of BCCD train, built in a temp dir (../shared is never touched).
const bccd = JSON.parse(readFileSync(BCCD_TRAIN, 'utf8'));
const IMAGES = 8;

let dir: string;
let imagesDir: string;

// biome-ignore lint/suspicious/noExplicitAny: the tests break arbitrary fields of the JSON
type Json = any;

function slice(): { images: Json[]; annotations: Json[]; categories: Json[] } {
  const images = bccd.images.slice(0, IMAGES).map((im: object) => ({ ...im }));
  const ids = new Set(images.map((im: { id: number }) => im.id));
  const annotations = bccd.annotations
    .filter((a: { image_id: number }) => ids.has(a.image_id))
    .map((a: object) => ({ ...a, bbox: [...(a as { bbox: number[] }).bbox] }));
  return {
    images,
    annotations,
    categories: bccd.categories.map((c: object) => ({ ...c })),
  };
}

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const at = (ps: Problem[], path: string) => ps.filter((p) => p.path === path);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dynhead-coco-validate-'));
  imagesDir = join(dir, 'images');
  const { images } = slice();
  require('node:fs').mkdirSync(imagesDir);
  for (const im of images) copyFileSync(join(BCCD_IMAGES, im.file_name), join(imagesDir, im.file_name));
  // Unreadable copies: a truncated JPEG and a text file named .png.
  const first = readFileSync(join(BCCD_IMAGES, images[0].file_name));
  writeFileSync(join(imagesDir, 'truncated.jpg'), first.subarray(0, 4000));
  writeFileSync(join(imagesDir, 'garbage.png'), 'this is not an image');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('validateCoco on broken copies of BCCD', () => {
  it('the intact slice has no errors and no warnings', async () => {
    const r = await validateCoco(writeJson('ok.json', slice()), imagesDir);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('reports a file that is not JSON', async () => {
    const file = writeJson('notjson.json', '{"images": [');
    const r = await validateCoco(file, imagesDir);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file, path: '' });
    expect(r.errors[0].message).toMatch(/^not JSON/);
  });

  it('reports missing top-level keys and sections of the wrong type', async () => {
    const { images, categories } = slice();
    const r1 = await validateCoco(writeJson('nokey.json', { images, categories }), imagesDir);
    expect(r1.errors.map((e) => e.message)).toEqual(['missing key "annotations"']);
    const r2 = await validateCoco(writeJson('wrongtype.json', { images: {}, annotations: [], categories }), imagesDir);
    expect(at(r2.errors, 'images')[0].message).toMatch(/expected an array, got an object/);
  });

  it('catches every entry-level problem, each with its JSON path', async () => {
    const d = slice();
    d.images[1].width = '640';
    d.images[3].file_name = 'missing.jpg';
    d.images[4].file_name = 'truncated.jpg';
    d.images[5].file_name = 'garbage.png';
    d.images[6].height = 500; // the file is 640x480
    d.images.push({ ...d.images[0] }); // duplicate image id
    d.categories.push({ id: 2, name: 'again' }); // duplicate category id
    delete d.annotations[0].bbox;
    d.annotations[1].bbox = [1, 2, 3];
    d.annotations[2].bbox = [1, 2, null, 4];
    d.annotations[3].bbox = [10, 10, 0, 5];
    d.annotations[4].bbox = [600, 400, 100, 50]; // past the right and bottom edges
    d.annotations[5].image_id = 99999;
    d.annotations[6].category_id = 42;
    d.annotations[8].id = d.annotations[7].id;
    d.annotations[9].image_id = 'one';
    delete d.annotations[10].category_id;
    d.annotations[11].bbox = [700, 10, 20, 20]; // entirely outside
    const file = writeJson('broken.json', d);
    const r = await validateCoco(file, imagesDir);
    const e = r.errors;
    expect(e.every((p) => p.file === file)).toBe(true);
    expect(at(e, 'images[1].width')[0].message).toMatch(/expected a positive integer, got "640"/);
    expect(at(e, 'images[3].file_name')[0].message).toMatch(/missing\.jpg does not exist/);
    expect(at(e, 'images[4].file_name')[0].message).toMatch(/unreadable: (corrupt or truncated image data|.*premature end)/i);
    expect(at(e, 'images[5].file_name')[0].message).toMatch(/unreadable.*unsupported image format/);
    expect(at(e, 'images[6]')[0].message).toMatch(/declared 640x500 \(width x height\) but .*BloodImage_\d+\.jpg is 640x480/);
    expect(at(e, `images[${IMAGES}].id`)[0].message).toMatch(/duplicate image id \d+ \(first at images\[0\]\)/);
    expect(at(e, 'categories[3].id')[0].message).toMatch(/duplicate category id 2 \(first at categories\[1\]\)/);
    expect(at(e, 'annotations[0]')[0].message).toBe('missing key "bbox"');
    expect(at(e, 'annotations[1].bbox')[0].message).toMatch(/4 finite numbers, got \[1,2,3\]/);
    expect(at(e, 'annotations[2].bbox')[0].message).toMatch(/4 finite numbers/);
    expect(at(e, 'annotations[3].bbox')[0].message).toMatch(/width and height must be > 0/);
    expect(at(e, 'annotations[5].image_id')[0].message).toBe('unknown image id 99999 (not in images)');
    expect(at(e, 'annotations[6].category_id')[0].message).toBe('unknown category id 42 (not in categories)');
    expect(at(e, 'annotations[8].id')[0].message).toMatch(/duplicate annotation id \d+ \(first at annotations\[7\]\)/);
    expect(at(e, 'annotations[9].image_id')[0].message).toMatch(/expected an integer id, got "one"/);
    expect(at(e, 'annotations[10]')[0].message).toBe('missing key "category_id"');
    expect(at(e, 'annotations[11].bbox')[0].message).toMatch(/entirely outside its 640x480 image/);
    expect(e).toHaveLength(17);
    // Outside the image: a warning, and the box is clipped.
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0].path).toBe('annotations[4].bbox');
    expect(r.warnings[0].message).toMatch(/clipped to \[600,400,40,50\]/);
  });

  it('CocoDataset.load refuses a broken dataset and clips boxes of a valid one', async () => {
    const broken = slice();
    broken.annotations[0].category_id = 7;
    await expect(CocoDataset.load(writeJson('b2.json', broken), imagesDir)).rejects.toThrow(CocoFormatError);
    const ok = slice();
    ok.annotations[0].bbox = [-5, 10, 20, 30];
    const ds = await CocoDataset.load(writeJson('clip.json', ok), imagesDir, {
      validate: 'header',
    });
    expect(ds.warnings.map((w) => w.path)).toEqual(['annotations[0].bbox']);
    const t = ds.targets(ok.annotations[0].image_id);
    expect(Array.from(t.boxes.slice(0, 4))).toEqual([0, 10, 15, 40]);
  });

  it('the validate command prints one line per problem and exits 2', async () => {
    const d = slice();
    d.annotations[2].bbox = [1, 2, -3, 4];
    d.images[0].file_name = 'nope.jpg';
    const file = writeJson('cmd.json', d);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runValidate({ ann: file, images: imagesDir }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err).toEqual([
      `error: ${file}: annotations[2].bbox: width and height must be > 0, got [1,2,-3,4]`,
      `error: ${file}: images[0].file_name: image file ${join(imagesDir, 'nope.jpg')} does not exist`,
      `${file}: 2 errors, 0 warnings (${IMAGES} images, ${d.annotations.length} annotations)`,
    ]);
    const okCode = await runValidate({ ann: writeJson('cmd-ok.json', slice()), images: imagesDir }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(okCode).toBe(0);
  });

  it('the full BCCD train and val splits validate cleanly (header mode)', async () => {
    for (const split of ['train', 'val']) {
      const r = await validateCoco(BCCD_TRAIN.replace('train', split), BCCD_IMAGES, { decode: 'header' });
      expect(r.errors).toEqual([]);
    }
  });
});

// Structural checks of a COCO detection JSON: keys, types, ids, boxes. No file access.

import { show, typeName } from '../results';
import type { Problem } from '../types';

export interface ValidationReport {
  errors: Problem[];
  warnings: Problem[];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

class Collector implements ValidationReport {
  errors: Problem[] = [];
  warnings: Problem[] = [];
  constructor(readonly file: string) {}
  error(path: string, message: string) {
    this.errors.push({ file: this.file, path, message });
  }
  warn(path: string, message: string) {
    this.warnings.push({ file: this.file, path, message });
  }
}

/** Checks that `obj[key]` exists and passes `ok`; reports missing keys and wrong types. */
function field(c: Collector, obj: Obj, at: string, key: string, ok: (v: unknown) => boolean, expected: string): boolean {
  if (!(key in obj)) {
    c.error(at, `missing key "${key}"`);
    return false;
  }
  if (!ok(obj[key])) {
    c.error(`${at}.${key}`, `expected ${expected}, got ${show(obj[key])}`);
    return false;
  }
  return true;
}

const isId = (v: unknown) => Number.isInteger(v);
const isPositiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

/** Registers ids, reporting duplicates; returns id -> index of its first entry. */
function uniqueIds(c: Collector, list: unknown[], section: string, what: string): Map<number, number> {
  const first = new Map<number, number>();
  list.forEach((entry, i) => {
    if (!isObject(entry) || !isId(entry.id)) return;
    const id = entry.id as number;
    const seen = first.get(id);
    if (seen === undefined) first.set(id, i);
    else c.error(`${section}[${i}].id`, `duplicate ${what} id ${id} (first at ${section}[${seen}])`);
  });
  return first;
}

function sectionArray(c: Collector, root: Obj, key: string): unknown[] | null {
  if (!(key in root)) {
    c.error('', `missing key "${key}"`);
    return null;
  }
  if (!Array.isArray(root[key])) {
    c.error(key, `expected an array, got ${typeName(root[key])}`);
    return null;
  }
  return root[key] as unknown[];
}

/**
 * Every structural problem of a parsed COCO detection JSON. Errors: missing keys, wrong types, bbox not
 * 4 finite numbers or with non-positive size, unknown image or category ids, duplicate ids. Warnings:
 * boxes extending outside their image (they are clipped on load), missing `area` (w * h is used).
 */
export function validateCocoJson(json: unknown, file: string): ValidationReport {
  const c = new Collector(file);
  if (!isObject(json)) {
    c.error('', `expected a JSON object with images, annotations and categories, got ${typeName(json)}`);
    return c;
  }
  const images = sectionArray(c, json, 'images');
  const annotations = sectionArray(c, json, 'annotations');
  const categories = sectionArray(c, json, 'categories');

  const imageSizes = new Map<number, { width: number; height: number }>();
  images?.forEach((im, i) => {
    const at = `images[${i}]`;
    if (!isObject(im)) {
      c.error(at, `expected an object, got ${typeName(im)}`);
      return;
    }
    field(c, im, at, 'id', isId, 'an integer id');
    field(c, im, at, 'file_name', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
    const w = field(c, im, at, 'width', isPositiveInt, 'a positive integer');
    const h = field(c, im, at, 'height', isPositiveInt, 'a positive integer');
    if (isId(im.id) && w && h && !imageSizes.has(im.id as number))
      imageSizes.set(im.id as number, {
        width: im.width as number,
        height: im.height as number,
      });
  });
  const imageIds = images ? uniqueIds(c, images, 'images', 'image') : new Map();

  categories?.forEach((cat, i) => {
    const at = `categories[${i}]`;
    if (!isObject(cat)) {
      c.error(at, `expected an object, got ${typeName(cat)}`);
      return;
    }
    field(c, cat, at, 'id', isId, 'an integer id');
    field(c, cat, at, 'name', (v) => typeof v === 'string', 'a string');
  });
  const categoryIds = categories ? uniqueIds(c, categories, 'categories', 'category') : new Map();

  annotations?.forEach((a, i) => {
    const at = `annotations[${i}]`;
    if (!isObject(a)) {
      c.error(at, `expected an object, got ${typeName(a)}`);
      return;
    }
    field(c, a, at, 'id', isId, 'an integer id');
    if (field(c, a, at, 'image_id', isId, 'an integer id') && images && !imageIds.has(a.image_id as number))
      c.error(`${at}.image_id`, `unknown image id ${a.image_id} (not in images)`);
    if (field(c, a, at, 'category_id', isId, 'an integer id') && categories && !categoryIds.has(a.category_id as number))
      c.error(`${at}.category_id`, `unknown category id ${a.category_id} (not in categories)`);
    if ('iscrowd' in a && a.iscrowd !== 0 && a.iscrowd !== 1 && typeof a.iscrowd !== 'boolean')
      c.error(`${at}.iscrowd`, `expected 0 or 1, got ${show(a.iscrowd)}`);
    if (!('area' in a)) c.warn(at, 'missing key "area"; the bbox area w * h is used');
    else if (!isFiniteNumber(a.area) || a.area < 0) c.error(`${at}.area`, `expected a finite number >= 0, got ${show(a.area)}`);

    if (!('bbox' in a)) {
      c.error(at, 'missing key "bbox"');
      return;
    }
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isFiniteNumber)) {
      c.error(`${at}.bbox`, `expected [x, y, width, height] of 4 finite numbers, got ${show(b)}`);
      return;
    }
    const [x, y, w, h] = b as number[];
    if (w <= 0 || h <= 0) {
      c.error(`${at}.bbox`, `width and height must be > 0, got ${show(b)}`);
      return;
    }
    const size = imageSizes.get(a.image_id as number);
    if (!size) return;
    if (x < 0 || y < 0 || x + w > size.width || y + h > size.height) {
      const clipped = clipBox(b as number[], size.width, size.height);
      if (clipped[2] <= 0 || clipped[3] <= 0) c.error(`${at}.bbox`, `${show(b)} lies entirely outside its ${size.width}x${size.height} image`);
      else c.warn(`${at}.bbox`, `${show(b)} extends outside its ${size.width}x${size.height} image; clipped to ${show(clipped)}`);
    }
  });
  if (annotations) uniqueIds(c, annotations, 'annotations', 'annotation');
  return c;
}

/** [x, y, w, h] clipped to a width x height image. */
export function clipBox(b: ArrayLike<number>, width: number, height: number): [number, number, number, number] {
  const x1 = Math.min(Math.max(b[0], 0), width);
  const y1 = Math.min(Math.max(b[1], 0), height);
  const x2 = Math.min(Math.max(b[0] + b[2], 0), width);
  const y2 = Math.min(Math.max(b[1] + b[3], 0), height);
  return [x1, y1, x2 - x1, y2 - y1];
}

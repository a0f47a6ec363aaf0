import { readFileSync } from 'node:fs';
import type { CocoJson } from '@dynhead/coco';
import type { DetectionSample } from './batch';
import { InputError } from '../input-error';

export interface CocoSamples {
  samples: DetectionSample[];
  /** categoryIds[label] = COCO category id (sorted ids -> contiguous labels). */
  categoryIds: number[];
  categoryNames: string[];
  /** The same as {id, name} pairs in label order (what checkpoints keep). */
  categories: { id: number; name: string }[];
  json: CocoJson;
}

/**
 * Reads a COCO detection JSON into per-image samples (crowd boxes and boxes without area skipped,
 * as Detectron does for training). Errors name the file and the JSON path at fault.
 */
export function readCocoSamples(annPath: string): CocoSamples {
  let json: CocoJson;
  try {
    json = JSON.parse(readFileSync(annPath, 'utf8'));
  } catch (e) {
    throw new InputError(`${annPath}: cannot read COCO JSON (${(e as Error).message})`);
  }
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(json[key])) throw new InputError(`${annPath}: field "${key}" must be an array`);
  }
  const categoryIds = json.categories.map((c) => c.id).sort((a, b) => a - b);
  const names = new Map(json.categories.map((c) => [c.id, c.name]));
  const labelOf = new Map(categoryIds.map((id, i) => [id, i]));
  const byImage = new Map<number, { boxes: number[]; labels: number[] }>();
  json.images.forEach((im, i) => {
    if (!Number.isFinite(im.id) || !(im.width > 0) || !(im.height > 0) || typeof im.file_name !== 'string') {
      throw new InputError(`${annPath}: images[${i}] needs a numeric id, file_name and positive width/height`);
    }
    byImage.set(im.id, { boxes: [], labels: [] });
  });
  json.annotations.forEach((a, i) => {
    const entry = byImage.get(a.image_id);
    if (!entry) throw new InputError(`${annPath}: annotations[${i}].image_id ${a.image_id} is not an image id`);
    const label = labelOf.get(a.category_id);
    if (label === undefined) throw new InputError(`${annPath}: annotations[${i}].category_id ${a.category_id} is not a category id`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || a.bbox.some((v) => !Number.isFinite(v))) {
      throw new InputError(`${annPath}: annotations[${i}].bbox must be 4 finite numbers [x, y, w, h]`);
    }
    if (a.iscrowd || a.bbox[2] <= 0 || a.bbox[3] <= 0) return;
    const [x, y, w, h] = a.bbox;
    entry.boxes.push(x, y, x + w, y + h);
    entry.labels.push(label);
  });
  const samples = json.images.map((im) => {
    const e = byImage.get(im.id) as { boxes: number[]; labels: number[] };
    return { imageId: im.id, file: im.file_name, width: im.width, height: im.height, boxes: Float32Array.from(e.boxes), labels: Int32Array.from(e.labels) };
  });
  const categoryNames = categoryIds.map((id) => String(names.get(id)));
  return { samples, categoryIds, categoryNames, categories: categoryIds.map((id, i) => ({ id, name: categoryNames[i] })), json };
}

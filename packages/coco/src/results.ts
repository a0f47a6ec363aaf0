// COCO results files (bbox task): checking, reading and writing.

import { CocoFormatError } from './errors';
import type { CocoBox, CocoDetection, CocoJson, Problem } from './types';

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Problems that make pycocotools refuse a results list (detections on images the GT does not have) and
 * the ones that would make its numbers meaningless (bbox not 4 finite numbers, negative size, no score).
 */
export function checkDetections(detections: unknown, gt: CocoJson, file = 'detections'): Problem[] {
  if (!Array.isArray(detections))
    return [
      {
        file,
        path: '',
        message: `a results file is a JSON array of detections, got ${typeName(detections)}`,
      },
    ];
  const imageIds = new Set(gt.images.map((im) => im.id));
  const problems: Problem[] = [];
  detections.forEach((d, i) => {
    const at = `[${i}]`;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) {
      problems.push({
        file,
        path: at,
        message: `expected an object, got ${typeName(d)}`,
      });
      return;
    }
    const det = d as Record<string, unknown>;
    for (const key of ['image_id', 'category_id', 'bbox', 'score']) {
      if (!(key in det)) problems.push({ file, path: at, message: `missing key "${key}"` });
    }
    if ('image_id' in det) {
      if (!Number.isInteger(det.image_id))
        problems.push({
          file,
          path: `${at}.image_id`,
          message: `expected an integer, got ${show(det.image_id)}`,
        });
      else if (!imageIds.has(det.image_id as number))
        problems.push({
          file,
          path: `${at}.image_id`,
          message: `image id ${det.image_id} is not in the ground truth (results must only name GT images)`,
        });
    }
    if ('category_id' in det && !Number.isInteger(det.category_id))
      problems.push({
        file,
        path: `${at}.category_id`,
        message: `expected an integer, got ${show(det.category_id)}`,
      });
    if ('score' in det && !isFiniteNumber(det.score))
      problems.push({
        file,
        path: `${at}.score`,
        message: `expected a finite number, got ${show(det.score)}`,
      });
    if ('bbox' in det) {
      const b = det.bbox;
      if (!Array.isArray(b) || b.length !== 4 || !b.every(isFiniteNumber))
        problems.push({
          file,
          path: `${at}.bbox`,
          message: `expected [x, y, width, height] of 4 finite numbers, got ${show(b)}`,
        });
      else if (b[2] < 0 || b[3] < 0)
        problems.push({
          file,
          path: `${at}.bbox`,
          message: `negative width or height in ${show(b)}`,
        });
    }
  });
  return problems;
}

/** Parses and checks a results file's text; throws CocoFormatError naming every bad entry. */
export function parseResults(text: string, gt: CocoJson, file = 'detections.json'): CocoDetection[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CocoFormatError([{ file, path: '', message: `not JSON: ${(err as Error).message}` }], 'results file');
  }
  const problems = checkDetections(parsed, gt, file);
  if (problems.length) throw new CocoFormatError(problems, 'results file');
  return parsed as CocoDetection[];
}

/** The results file's text: a JSON array, one detection per line, numbers written round-trip exact. */
export function serializeResults(detections: readonly CocoDetection[]): string {
  const lines = detections.map((d) =>
    JSON.stringify({
      image_id: d.image_id,
      category_id: d.category_id,
      bbox: [d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3]],
      score: d.score,
    }),
  );
  return lines.length ? `[\n${lines.join(',\n')}\n]\n` : '[]\n';
}

/** Writes a COCO results file (Node). */
export async function writeResults(path: string, detections: readonly CocoDetection[]): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, serializeResults(detections));
}

/** Reads and checks a COCO results file against its ground truth (Node). */
export async function readResults(path: string, gt: CocoJson): Promise<CocoDetection[]> {
  const { readFile } = await import('node:fs/promises');
  return parseResults(await readFile(path, 'utf8'), gt, path);
}

/** Converts one image's boxes from corner form [x1, y1, x2, y2] to COCO's [x, y, w, h]. */
export function xyxyToCoco(x1: number, y1: number, x2: number, y2: number): CocoBox {
  return [x1, y1, x2 - x1, y2 - y1];
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// validateCoco: the whole dataset (JSON + image files) checked up front, every problem reported.

import { type ImageDecoder, decodeImage, readBytes, readImageHeader } from '../image/decoder';
import { show } from '../results';
import type { CocoImage } from '../types';
import { type ValidationReport, validateCocoJson } from './json-checks';

export interface ValidateOptions {
  /** 'full' decodes every image (catches truncated files); 'header' reads sizes only (fast). */
  decode: 'full' | 'header';
  /** Images checked at once. */
  concurrency: number;
  decoder?: ImageDecoder;
}

export const defaultValidateOptions: ValidateOptions = {
  decode: 'full',
  concurrency: 4,
};

export interface DatasetValidation extends ValidationReport {
  /** The parsed JSON, when it parsed. */
  json?: unknown;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') || dir.endsWith('\\') ? `${dir}${name}` : `${dir}/${name}`;
}

/**
 * Reads a COCO detection JSON and the images it names. Problems come back, never thrown: not JSON,
 * structure (see validateCocoJson), image files missing, unreadable or not of the declared size.
 */
export async function validateCoco(annPath: string, imagesDir: string, options: Partial<ValidateOptions> = {}): Promise<DatasetValidation> {
  const opts = { ...defaultValidateOptions, ...options };
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(annPath, 'utf8');
  } catch (err) {
    return {
      errors: [
        {
          file: annPath,
          path: '',
          message: `cannot read: ${(err as Error).message}`,
        },
      ],
      warnings: [],
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return {
      errors: [
        {
          file: annPath,
          path: '',
          message: `not JSON: ${(err as Error).message}`,
        },
      ],
      warnings: [],
    };
  }
  const report = validateCocoJson(json, annPath);
  const images = (json as { images?: unknown }).images;
  if (Array.isArray(images)) {
    const checks = images.map((im, i) => () => checkImageFile(im as CocoImage, i, annPath, imagesDir, opts, report));
    await runLimited(checks, opts.concurrency);
  }
  report.errors.sort(byPosition);
  report.warnings.sort(byPosition);
  return { ...report, json };
}

async function checkImageFile(im: CocoImage, i: number, annPath: string, imagesDir: string, opts: ValidateOptions, report: ValidationReport): Promise<void> {
  if (typeof im !== 'object' || im === null || typeof im.file_name !== 'string' || !im.file_name) return;
  const at = `images[${i}]`;
  const path = joinPath(imagesDir, im.file_name);
  const { stat } = await import('node:fs/promises');
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
  } catch {
    report.errors.push({
      file: annPath,
      path: `${at}.file_name`,
      message: `image file ${path} does not exist`,
    });
    return;
  }
  let width: number;
  let height: number;
  try {
    if (opts.decode === 'full') ({ width, height } = await decodeImage(await readBytes(path), path, opts.decoder));
    else ({ width, height } = await readImageHeader(path));
  } catch (err) {
    report.errors.push({
      file: annPath,
      path: `${at}.file_name`,
      message: `image file ${path} is unreadable: ${(err as Error).message.replace(/^cannot decode image \S+: /, '')}`,
    });
    return;
  }
  const declared = Number.isInteger(im.width) && Number.isInteger(im.height); // wrong types are reported by the JSON checks
  if (declared && (width !== im.width || height !== im.height))
    report.errors.push({
      file: annPath,
      path: at,
      message: `declared ${show(im.width)}x${show(im.height)} (width x height) but ${path} is ${width}x${height}`,
    });
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
}

/** Sort by section, then numeric index, so reports read in file order. */
function byPosition(a: { path: string }, b: { path: string }): number {
  const key = (p: string) => {
    const m = /^(\w+)\[(\d+)\]/.exec(p);
    return m ? [m[1], Number(m[2])] : [p, -1];
  };
  const [sa, ia] = key(a.path);
  const [sb, ib] = key(b.path);
  if (sa !== sb) return (sa as string) < (sb as string) ? -1 : 1;
  return (ia as number) - (ib as number);
}

// CocoDataset: a validated COCO detection JSON with category id <-> contiguous label maps.

import { CocoFormatError } from './errors';
import { joinPath, validateCoco, type ValidateOptions } from './validate/validate-coco';
import { clipBox, validateCocoJson } from './validate/json-checks';
import type { CocoAnnotation, CocoCategory, CocoDetection, CocoImage, CocoJson, Problem } from './types';

/** Training targets of one image in its stored pixels: corner boxes [x1, y1, x2, y2] and 0-based labels. */
export interface ImageTargets {
  boxes: Float32Array;
  labels: Int32Array;
}

export interface LoadDatasetOptions {
  /** 'full' or 'header' checks the image files too (see validateCoco); 'json' checks the JSON only. */
  validate: ValidateOptions['decode'] | 'json';
}

export class CocoDataset {
  /** The JSON as read (boxes unclipped: the evaluator must see them as pycocotools does). */
  readonly json: CocoJson;
  readonly source: string;
  readonly imagesDir: string;
  /** Warnings from validation (boxes clipped, missing areas). */
  readonly warnings: Problem[];
  /** Categories sorted by id: label i is categories[i]. */
  readonly categories: CocoCategory[];
  private readonly labelByCategory: Map<number, number>;
  private readonly imageById: Map<number, CocoImage>;
  private readonly annotationsByImage: Map<number, CocoAnnotation[]>;

  /** Wraps parsed JSON after checking its structure; throws CocoFormatError listing every error. */
  constructor(json: unknown, opts: { source?: string; imagesDir?: string; warnings?: Problem[] } = {}) {
    const source = opts.source ?? 'annotations';
    let warnings = opts.warnings;
    if (!warnings) {
      const report = validateCocoJson(json, source);
      if (report.errors.length) throw new CocoFormatError(report.errors, 'COCO dataset');
      warnings = report.warnings;
    }
    const data = json as CocoJson;
    // Defaults pycocotools assumes: area = w * h when absent, iscrowd 0.
    this.json = {
      ...data,
      annotations: data.annotations.map((a) => ({
        ...a,
        area: a.area ?? a.bbox[2] * a.bbox[3],
        iscrowd: a.iscrowd ? 1 : 0,
      })),
    };
    this.source = source;
    this.imagesDir = opts.imagesDir ?? '.';
    this.warnings = warnings;
    this.categories = [...data.categories].sort((a, b) => a.id - b.id);
    this.labelByCategory = new Map(this.categories.map((c, i) => [c.id, i]));
    this.imageById = new Map(data.images.map((im) => [im.id, im]));
    this.annotationsByImage = new Map(data.images.map((im) => [im.id, []]));
    for (const a of this.json.annotations) this.annotationsByImage.get(a.image_id)?.push(a);
  }

  /** Reads and validates (JSON and, by default, every image file); throws CocoFormatError on any error. */
  static async load(annPath: string, imagesDir: string, options: Partial<LoadDatasetOptions> = {}): Promise<CocoDataset> {
    const mode = options.validate ?? 'full';
    if (mode === 'json') {
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(annPath, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new CocoFormatError(
          [
            {
              file: annPath,
              path: '',
              message: `not JSON: ${(err as Error).message}`,
            },
          ],
          'COCO dataset',
        );
      }
      return new CocoDataset(json, { source: annPath, imagesDir });
    }
    const report = await validateCoco(annPath, imagesDir, { decode: mode });
    if (report.errors.length) throw new CocoFormatError(report.errors, 'COCO dataset');
    return new CocoDataset(report.json, {
      source: annPath,
      imagesDir,
      warnings: report.warnings,
    });
  }

  /** The same dataset restricted to some images (their annotations, every category), e.g. for quick runs. */
  subset(imageIds: Iterable<number>): CocoDataset {
    const keep = new Set(imageIds);
    for (const id of keep) this.image(id);
    const json: CocoJson = {
      ...this.json,
      images: this.json.images.filter((im) => keep.has(im.id)),
      annotations: this.json.annotations.filter((a) => keep.has(a.image_id)),
    };
    return new CocoDataset(json, {
      source: this.source,
      imagesDir: this.imagesDir,
      warnings: [],
    });
  }

  get images(): CocoImage[] {
    return this.json.images;
  }

  get numClasses(): number {
    return this.categories.length;
  }

  /** 0-based contiguous label of a category id (labels follow sorted ids). */
  labelOf(categoryId: number): number {
    const label = this.labelByCategory.get(categoryId);
    if (label === undefined) throw new Error(`${this.source}: unknown category id ${categoryId}`);
    return label;
  }

  categoryIdOf(label: number): number {
    const cat = this.categories[label];
    if (!Number.isInteger(label) || !cat) throw new Error(`${this.source}: label ${label} out of range [0, ${this.numClasses})`);
    return cat.id;
  }

  image(imageId: number): CocoImage {
    const im = this.imageById.get(imageId);
    if (!im) throw new Error(`${this.source}: unknown image id ${imageId}`);
    return im;
  }

  imagePath(imageId: number): string {
    return joinPath(this.imagesDir, this.image(imageId).file_name);
  }

  annotationsOf(imageId: number): CocoAnnotation[] {
    this.image(imageId);
    return this.annotationsByImage.get(imageId) ?? [];
  }

  /** Boxes clipped to the image, degenerate ones dropped; crowd regions excluded unless asked for. */
  targets(imageId: number, opts: { includeCrowd?: boolean } = {}): ImageTargets {
    const im = this.image(imageId);
    const boxes: number[] = [];
    const labels: number[] = [];
    for (const a of this.annotationsOf(imageId)) {
      if (a.iscrowd && !opts.includeCrowd) continue;
      const [x, y, w, h] = clipBox(a.bbox, im.width, im.height);
      if (w <= 0 || h <= 0) continue;
      boxes.push(x, y, x + w, y + h);
      labels.push(this.labelOf(a.category_id));
    }
    return { boxes: Float32Array.from(boxes), labels: Int32Array.from(labels) };
  }

  /**
   * Detections of one image as COCO results. Boxes are corners in a resized image's pixels and are
   * divided by `scale` ([sy, sx], resized pixels per stored pixel) back to the stored image.
   */
  toCocoDetections(
    imageId: number,
    boxes: ArrayLike<number>,
    scores: ArrayLike<number>,
    labels: ArrayLike<number>,
    scale: [number, number] = [1, 1],
  ): CocoDetection[] {
    this.image(imageId);
    if (boxes.length !== scores.length * 4 || labels.length !== scores.length)
      throw new Error(`toCocoDetections: boxes (${boxes.length}) must be 4 x scores (${scores.length}) and labels (${labels.length}) 1 x scores`);
    const [sy, sx] = scale;
    const out: CocoDetection[] = [];
    for (let i = 0; i < scores.length; i++) {
      const x1 = boxes[4 * i] / sx;
      const y1 = boxes[4 * i + 1] / sy;
      const x2 = boxes[4 * i + 2] / sx;
      const y2 = boxes[4 * i + 3] / sy;
      out.push({
        image_id: imageId,
        category_id: this.categoryIdOf(labels[i]),
        bbox: [x1, y1, x2 - x1, y2 - y1],
        score: scores[i],
      });
    }
    return out;
  }
}

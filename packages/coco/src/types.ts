// The COCO detection JSON shapes this package reads and writes (only the fields it uses are typed).

/** A box as COCO stores it: [x, y, width, height] in pixels, origin at the top-left corner. */
export type CocoBox = [number, number, number, number];

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  [extra: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  [extra: string]: unknown;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: CocoBox;
  /** Area used by the evaluator's area ranges (the segmentation area in real COCO). */
  area: number;
  iscrowd: number;
  [extra: string]: unknown;
}

export interface CocoJson {
  info?: unknown;
  licenses?: unknown;
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One entry of a COCO results file (bbox task). */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: CocoBox;
  score: number;
}

/** A problem found in a dataset or results file: where (file + JSON path) and why. */
export interface Problem {
  file: string;
  /** JSON path such as `annotations[17].bbox`, or '' for the whole file. */
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return p.path ? `${p.file}: ${p.path}: ${p.message}` : `${p.file}: ${p.message}`;
}

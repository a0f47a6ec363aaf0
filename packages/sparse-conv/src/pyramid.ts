import * as tf from '@tensorflow/tfjs-core';
import { concatRows, splitRows } from './row-blocks';

/**
 * Where the maps of a feature pyramid (P3 first) lie when packed into one [rows, C] tensor: level
 * after level, each level's images after one another, each image's pixels in row-major order. So
 * every (level, image) is one run of rows, and a kernel takes all levels in one dispatch instead
 * of one per level (on a GPU each dispatch has a fixed cost, whatever its size).
 */
export interface PyramidLayout {
  /** images in every level */
  readonly batch: number;
  /** [height, width] of each level */
  readonly sizes: readonly (readonly [number, number])[];
}

/** The layout of these maps packed ([B,H,W,C] each, the same B and C). */
export function pyramidLayoutOf(maps: readonly tf.Tensor4D[], op = 'pyramidLayoutOf'): PyramidLayout {
  if (maps.length === 0) throw new Error(`${op}: no maps to pack`);
  const [batch, , , channels] = maps[0].shape;
  maps.forEach((m, l) => {
    if (m.rank !== 4 || m.shape[0] !== batch || m.shape[3] !== channels) {
      throw new Error(`${op}: maps[${l}] has shape [${m.shape.join(',')}]; every map must be [${batch},H,W,${channels}] like maps[0]`);
    }
  });
  return { batch, sizes: maps.map((m) => [m.shape[1], m.shape[2]] as const) };
}

/** Some consecutive levels of a packed pyramid: their own layout, and the row where the first begins. */
export interface PyramidLevels {
  layout: PyramidLayout;
  firstRow: number;
}

/** Levels from .. to - 1 of a pyramid so laid out. */
export function pyramidLevels(layout: PyramidLayout, from: number, to: number): PyramidLevels {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= layout.sizes.length)) {
    throw new Error(`pyramidLevels: levels ${from}..${to - 1} are not within the pyramid's ${layout.sizes.length}`);
  }
  return { layout: { batch: layout.batch, sizes: layout.sizes.slice(from, to) }, firstRow: levelRowStarts(layout)[from] };
}

/**
 * Packed pyramids of one batch one after another, as one pyramid of all their levels (the rows
 * are level-major either way): a scale node's two gates [2P, 1], or its two paths' maps.
 */
export function stackedLayout(...layouts: PyramidLayout[]): PyramidLayout {
  if (layouts.some((l) => l.batch !== layouts[0].batch)) throw new Error(`stackedLayout: one batch, got ${layouts.map((l) => l.batch).join(', ')}`);
  // a loop, not flatMap: a pass stacks layouts hundreds of times, and flatMap is several times slower
  const sizes: (readonly [number, number])[] = [];
  for (const l of layouts) for (const size of l.sizes) sizes.push(size);
  return { batch: layouts[0].batch, sizes };
}

/** Whether two pyramids have the same batch and level sizes. */
export function sameLayout(a: PyramidLayout, b: PyramidLayout): boolean {
  return a === b || (a.batch === b.batch && a.sizes.length === b.sizes.length && a.sizes.every(([h, w], l) => b.sizes[l][0] === h && b.sizes[l][1] === w));
}

/** The layout of a scale node's two paths in one tensor (scalePathsPyramid): levels 0 .. L-2, then 1 .. L-1. */
export function scalePathsLayout(layout: PyramidLayout): PyramidLayout {
  const levels = layout.sizes.length;
  return stackedLayout(pyramidLevels(layout, 0, levels - 1).layout, pyramidLevels(layout, 1, levels).layout);
}

/** Rows of the packed pyramid. */
export function pyramidRows(layout: PyramidLayout): number {
  return levelRowStarts(layout)[layout.sizes.length];
}

/** The first row of each level, and the row count last. */
export function levelRowStarts({ batch, sizes }: PyramidLayout): number[] {
  const starts = [0];
  for (const [h, w] of sizes) starts.push(starts[starts.length - 1] + batch * h * w);
  return starts;
}

/** The first row of each (level, image), level-major, and the row count last: the runs GroupNorm normalises. */
export function segmentRowStarts({ batch, sizes }: PyramidLayout): number[] {
  const starts = [0];
  for (const [h, w] of sizes) for (let b = 0; b < batch; b++) starts.push(starts[starts.length - 1] + h * w);
  return starts;
}

/**
 * Throws, naming `op` and `name`, unless t is [rows of the layout, channels] (any channels when
 * not given).
 */
export function checkPacked(op: string, name: string, t: tf.Tensor, layout: PyramidLayout, channels?: number): void {
  const rows = pyramidRows(layout);
  if (t.rank !== 2 || t.shape[0] !== rows || (channels !== undefined && t.shape[1] !== channels)) {
    throw new Error(`${op}: ${name} has shape [${t.shape.join(',')}]; the pyramid's layout needs [${rows},${channels ?? 'C'}]`);
  }
}

/**
 * Throws, naming `op` and `name`, unless t [R, C] holds a pyramid so laid out from row `firstRow`
 * on, more rows after it allowed (two towers' maps stacked, each read where it lies).
 */
export function checkPackedFrom(op: string, name: string, t: tf.Tensor, layout: PyramidLayout, firstRow: number, channels?: number): void {
  const rows = pyramidRows(layout);
  if (!Number.isInteger(firstRow) || firstRow < 0 || t.rank !== 2 || t.shape[0] < firstRow + rows || (channels !== undefined && t.shape[1] !== channels)) {
    const from = firstRow === 0 ? '' : ` from row ${firstRow}`;
    throw new Error(`${op}: ${name} has shape [${t.shape.join(',')}]; the pyramid's layout needs [${rows},${channels ?? 'C'}]${from}`);
  }
}

/** Rows `firstRow` .. of t [R, C] that hold a pyramid so laid out, as their own tensor: t itself where it is exactly those, else a copy (splitRows). */
export function pyramidRowsFrom(t: tf.Tensor2D, layout: PyramidLayout, firstRow: number): tf.Tensor2D {
  const rows = pyramidRows(layout);
  if (firstRow === 0 && t.shape[0] === rows) return t;
  return tf.tidy(() => splitRows(t, [firstRow, rows, t.shape[0] - firstRow - rows])[1] as tf.Tensor2D);
}

/** Packs maps ([B,H,W,C] each) into [rows, C] (pyramidLayoutOf says where each lies). */
export function packPyramid(maps: readonly tf.Tensor4D[]): tf.Tensor2D {
  pyramidLayoutOf(maps, 'packPyramid');
  const c = maps[0].shape[3];
  return tf.tidy(() => concatRows(maps.map((m) => tf.reshape(m, [-1, c]) as tf.Tensor2D)));
}

/** The maps of a packed pyramid ([rows, C]), one [B,H,W,C] per level. */
export function unpackPyramid(packed: tf.Tensor2D, layout: PyramidLayout): tf.Tensor4D[] {
  const starts = levelRowStarts(layout);
  const c = packed.shape[1];
  if (packed.rank !== 2 || packed.shape[0] !== starts[starts.length - 1]) {
    throw new Error(`unpackPyramid: packed has shape [${packed.shape.join(',')}]; the layout needs [${starts[starts.length - 1]},C]`);
  }
  return tf.tidy(() => {
    const levels = splitRows(packed, layout.sizes.map((_, l) => starts[l + 1] - starts[l]));
    return levels.map((level, l) => tf.reshape(level, [layout.batch, ...layout.sizes[l], c]) as tf.Tensor4D);
  });
}

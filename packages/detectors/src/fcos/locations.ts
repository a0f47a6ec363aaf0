/** The image-plane point each feature-map cell stands for, per level, row-major (y, x). */
export interface LevelGrid {
  height: number;
  width: number;
  stride: number;
}

/**
 * Points (x, y) of every cell of every level, concatenated level by level: cell (i, j) of a level
 * with stride s is at (j * s + offset * s, i * s + offset * s). cvpods' FCOS uses offset 0.
 */
export function gridPoints(levels: LevelGrid[], offset = 0): { points: Float32Array; levelOf: Int32Array; count: number } {
  const count = levels.reduce((n, l) => n + l.height * l.width, 0);
  const points = new Float32Array(count * 2);
  const levelOf = new Int32Array(count);
  let k = 0;
  levels.forEach((l, li) => {
    for (let i = 0; i < l.height; i++) {
      for (let j = 0; j < l.width; j++) {
        points[2 * k] = j * l.stride + offset * l.stride;
        points[2 * k + 1] = i * l.stride + offset * l.stride;
        levelOf[k] = li;
        k++;
      }
    }
  });
  return { points, levelOf, count };
}

/** Grids of feature maps given as NHWC shapes. */
export function gridsOf(shapes: number[][], strides: number[]): LevelGrid[] {
  if (shapes.length !== strides.length) {
    throw new Error(`gridsOf: ${shapes.length} feature levels but ${strides.length} strides`);
  }
  return shapes.map((s, i) => ({ height: s[1], width: s[2], stride: strides[i] }));
}

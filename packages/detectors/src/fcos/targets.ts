import { type LevelGrid, gridPoints } from './locations';

/** Ground truth of one image, in input (resized) pixel coordinates. */
export interface ImageTargets {
  /** [G * 4] corners x1, y1, x2, y2. */
  boxes: Float32Array;
  /** [G] contiguous class labels 0..numClasses-1. */
  labels: Int32Array;
}

export interface FcosAssignOptions {
  numClasses: number;
  /** Per level [min, max] of the largest regression distance a level is responsible for. */
  sizesOfInterest: [number, number][];
  /** Center sampling radius in strides; 0 turns center sampling off (any point inside the box). */
  centerSamplingRadius: number;
  /** Point offset within a cell, in strides (cvpods FCOS: 0). */
  pointOffset: number;
}

/** Per-location training targets of one image (N = all locations of all levels). */
export interface FcosTargets {
  /** [N] class label, numClasses for background. */
  classes: Int32Array;
  /** [N * 4] l, t, r, b distances to the matched box, in pixels (0 for background). */
  ltrb: Float32Array;
  /** [N] centerness target sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b)), 0 for background. */
  centerness: Float32Array;
  numForeground: number;
}

/**
 * FCOS target assignment (cvpods `FCOS.get_ground_truth`): a location is a candidate for a box when
 * it lies inside the box's center region (radius * stride around the center, clipped to the box) and
 * the box's largest distance from it falls in the level's size range (both ends inclusive); among
 * candidates the box of smallest area wins, the first one on ties.
 */
export function assignFcosTargets(levels: LevelGrid[], gt: ImageTargets, options: FcosAssignOptions): FcosTargets {
  if (options.sizesOfInterest.length !== levels.length) {
    throw new Error(`assignFcosTargets: ${levels.length} levels but ${options.sizesOfInterest.length} sizesOfInterest`);
  }
  const G = gt.labels.length;
  if (gt.boxes.length !== G * 4) throw new Error(`assignFcosTargets: boxes has ${gt.boxes.length} values for ${G} labels (want 4 per box)`);
  for (let g = 0; g < G; g++) {
    if (gt.labels[g] < 0 || gt.labels[g] >= options.numClasses) {
      throw new Error(`assignFcosTargets: label ${gt.labels[g]} of box ${g} outside [0, ${options.numClasses})`);
    }
  }
  const { points, levelOf, count: N } = gridPoints(levels, options.pointOffset);
  const classes = new Int32Array(N).fill(options.numClasses);
  const ltrb = new Float32Array(N * 4);
  const centerness = new Float32Array(N);
  let numForeground = 0;
  const f = Math.fround;
  for (let n = 0; n < N; n++) {
    const x = points[2 * n];
    const y = points[2 * n + 1];
    const lvl = levelOf[n];
    const stride = levels[lvl].stride;
    const [lo, hi] = options.sizesOfInterest[lvl];
    let best = -1;
    let bestArea = Number.POSITIVE_INFINITY;
    for (let g = 0; g < G; g++) {
      const x1 = gt.boxes[4 * g];
      const y1 = gt.boxes[4 * g + 1];
      const x2 = gt.boxes[4 * g + 2];
      const y2 = gt.boxes[4 * g + 3];
      const l = f(x - x1);
      const t = f(y - y1);
      const r = f(x2 - x);
      const b = f(y2 - y);
      let inside: boolean;
      if (options.centerSamplingRadius > 0) {
        const cx = f(f(x1 + x2) / 2);
        const cy = f(f(y1 + y2) / 2);
        const rad = stride * options.centerSamplingRadius;
        const cx1 = Math.max(f(cx - rad), x1);
        const cy1 = Math.max(f(cy - rad), y1);
        const cx2 = Math.min(f(cx + rad), x2);
        const cy2 = Math.min(f(cy + rad), y2);
        inside = Math.min(f(x - cx1), f(y - cy1), f(cx2 - x), f(cy2 - y)) > 0;
      } else {
        inside = Math.min(l, t, r, b) > 0;
      }
      if (!inside) continue;
      const m = Math.max(l, t, r, b);
      if (m < lo || m > hi) continue;
      const area = f(f(x2 - x1) * f(y2 - y1));
      if (area < bestArea) {
        bestArea = area;
        best = g;
      }
    }
    if (best < 0) continue;
    const l = f(x - gt.boxes[4 * best]);
    const t = f(y - gt.boxes[4 * best + 1]);
    const r = f(gt.boxes[4 * best + 2] - x);
    const b = f(gt.boxes[4 * best + 3] - y);
    classes[n] = gt.labels[best];
    ltrb.set([l, t, r, b], 4 * n);
    const lr = Math.max(0, Math.min(l, r) / Math.max(l, r));
    const tb = Math.max(0, Math.min(t, b) / Math.max(t, b));
    centerness[n] = Math.sqrt(lr * tb);
    numForeground++;
  }
  return { classes, ltrb, centerness, numForeground };
}

import { type LevelGrid, gridPoints } from '../fcos/locations';

/**
 * One anchor per feature-map location: a box of `sizes[level] * scales[0]` with aspect ratio
 * `aspectRatios[0]` centred on the location's point. The router's heads predict one box per
 * location, so anchor detectors here run with A = 1 (as ATSS's one-anchor setting).
 */
export function locationAnchors(levels: LevelGrid[], sizes: number[], scale: number, ratio: number, offset: number): { anchors: Float32Array; levelOf: Int32Array; count: number } {
  if (sizes.length !== levels.length) throw new Error(`locationAnchors: ${levels.length} levels but ${sizes.length} anchor sizes`);
  const { points, levelOf, count } = gridPoints(levels, offset);
  const anchors = new Float32Array(count * 4);
  for (let n = 0; n < count; n++) {
    const side = sizes[levelOf[n]] * scale;
    const w = side / Math.sqrt(ratio);
    const h = side * Math.sqrt(ratio);
    const x = points[2 * n];
    const y = points[2 * n + 1];
    anchors.set([x - w / 2, y - h / 2, x + w / 2, y + h / 2], 4 * n);
  }
  return { anchors, levelOf, count };
}

/** IoU of two corner boxes (float64). */
export function iou(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const w = Math.min(a[ai + 2], b[bi + 2]) - Math.max(a[ai], b[bi]);
  const h = Math.min(a[ai + 3], b[bi + 3]) - Math.max(a[ai + 1], b[bi + 1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const areaA = (a[ai + 2] - a[ai]) * (a[ai + 3] - a[ai + 1]);
  const areaB = (b[bi + 2] - b[bi]) * (b[bi + 3] - b[bi + 1]);
  return inter / (areaA + areaB - inter);
}

/** Detectron's Box2BoxTransform encoding of `gt` relative to `anchor` (weights 1). */
export function encodeDeltas(anchor: ArrayLike<number>, ai: number, gt: ArrayLike<number>, gi: number, out: Float32Array, oi: number): void {
  const aw = anchor[ai + 2] - anchor[ai];
  const ah = anchor[ai + 3] - anchor[ai + 1];
  const ax = anchor[ai] + 0.5 * aw;
  const ay = anchor[ai + 1] + 0.5 * ah;
  const gw = gt[gi + 2] - gt[gi];
  const gh = gt[gi + 3] - gt[gi + 1];
  const gx = gt[gi] + 0.5 * gw;
  const gy = gt[gi + 1] + 0.5 * gh;
  out[oi] = (gx - ax) / aw;
  out[oi + 1] = (gy - ay) / ah;
  out[oi + 2] = Math.log(gw / aw);
  out[oi + 3] = Math.log(gh / ah);
}

/** Detectron's clamp on dw, dh before exp. */
export const SCALE_CLAMP = Math.log(1000 / 16);

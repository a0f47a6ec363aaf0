// Box IoU as pycocotools' maskApi.c bbIou computes it, in float64.

/**
 * IoU matrix [dts.length x gts.length] (row-major) of [x, y, w, h] boxes. For a crowd GT the union is
 * the detection's own area, so a detection inside a crowd region scores 1.
 */
export function bboxIou(dts: ArrayLike<number>[], gts: ArrayLike<number>[], gtIsCrowd: ArrayLike<number>): Float64Array {
  const D = dts.length;
  const G = gts.length;
  const out = new Float64Array(D * G);
  for (let g = 0; g < G; g++) {
    const gb = gts[g];
    const gArea = gb[2] * gb[3];
    const crowd = gtIsCrowd[g] !== 0;
    for (let d = 0; d < D; d++) {
      const db = dts[d];
      const w = Math.min(db[2] + db[0], gb[2] + gb[0]) - Math.max(db[0], gb[0]);
      if (w <= 0) continue;
      const h = Math.min(db[3] + db[1], gb[3] + gb[1]) - Math.max(db[1], gb[1]);
      if (h <= 0) continue;
      const inter = w * h;
      const dArea = db[2] * db[3];
      out[d * G + g] = inter / (crowd ? dArea : dArea + gArea - inter);
    }
  }
  return out;
}

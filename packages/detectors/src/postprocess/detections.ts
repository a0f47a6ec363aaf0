/** Detections of one image: corner boxes in original-image pixels, best first. */
export interface Detections {
  /** [K * 4] x1, y1, x2, y2. */
  boxes: Float32Array;
  scores: Float32Array;
  /** Contiguous class labels. */
  labels: Int32Array;
}

/** One detection as COCO's results format wants it. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}

/** COCO-style results of one image; `categoryIds[label]` maps labels back to COCO category ids. */
export function toCocoResults(dets: Detections, imageId: number, categoryIds: ArrayLike<number>): CocoResult[] {
  const out: CocoResult[] = [];
  for (let k = 0; k < dets.scores.length; k++) {
    const label = dets.labels[k];
    if (label < 0 || label >= categoryIds.length) throw new Error(`toCocoResults: label ${label} has no category id (${categoryIds.length} known)`);
    const [x1, y1, x2, y2] = dets.boxes.subarray(4 * k, 4 * k + 4);
    out.push({ image_id: imageId, category_id: categoryIds[label], bbox: [x1, y1, x2 - x1, y2 - y1], score: dets.scores[k] });
  }
  return out;
}

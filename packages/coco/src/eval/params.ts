// COCOeval's default bbox parameters, built exactly the way pycocotools builds them with numpy.

export interface EvalParams {
  /** IoU thresholds T. */
  iouThrs: number[];
  /** Recall points R of the interpolated precision. */
  recThrs: number[];
  /** Detections kept per image, ascending; the last one also caps detections per image and category. */
  maxDets: number[];
  /** Area ranges A, both ends inclusive. */
  areaRng: [number, number][];
  areaRngLbl: string[];
}

/**
 * numpy.linspace(start, stop, num): i * ((stop - start) / (num - 1)) + start, last element = stop.
 * The naive start + i * 0.05 differs in the last bits, and that moves matches at IoU == threshold.
 */
export function numpyLinspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

export const defaultEvalParams: EvalParams = {
  iouThrs: numpyLinspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
  recThrs: numpyLinspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
  maxDets: [1, 10, 100],
  areaRng: [
    [0, 1e10],
    [0, 32 ** 2],
    [32 ** 2, 96 ** 2],
    [96 ** 2, 1e10],
  ],
  areaRngLbl: ['all', 'small', 'medium', 'large'],
};

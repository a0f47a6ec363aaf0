// pycocotools' COCOeval.summarize: the 12 standard numbers and their printed form.

import type { Accumulated } from './accumulate';
import type { EvalParams } from './params';

interface StatSpec {
  ap: boolean;
  iouThr?: number;
  area: string;
  maxDets: number;
}

function statSpecs(params: EvalParams): StatSpec[] {
  const top = params.maxDets[params.maxDets.length - 1];
  return [
    { ap: true, area: 'all', maxDets: top },
    { ap: true, iouThr: 0.5, area: 'all', maxDets: top },
    { ap: true, iouThr: 0.75, area: 'all', maxDets: top },
    { ap: true, area: 'small', maxDets: top },
    { ap: true, area: 'medium', maxDets: top },
    { ap: true, area: 'large', maxDets: top },
    { ap: false, area: 'all', maxDets: params.maxDets[0] },
    { ap: false, area: 'all', maxDets: params.maxDets[1] },
    { ap: false, area: 'all', maxDets: top },
    { ap: false, area: 'small', maxDets: top },
    { ap: false, area: 'medium', maxDets: top },
    { ap: false, area: 'large', maxDets: top },
  ];
}

/** Mean of the entries > -1 over every selected index; -1 when there are none. */
function meanOfValid(values: Float64Array, indices: Iterable<number>): number {
  let sum = 0;
  let n = 0;
  for (const i of indices) {
    const v = values[i];
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

function* selection(shape: number[], keep: (number[] | null)[]): Generator<number> {
  const axes = shape.map((n, i) => keep[i] ?? Array.from({ length: n }, (_, j) => j));
  const idx = new Array(shape.length).fill(0);
  const total = axes.reduce((p, a) => p * a.length, 1);
  for (let c = 0; c < total; c++) {
    let rest = c;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = axes[d][rest % axes[d].length];
      rest = Math.floor(rest / axes[d].length);
    }
    let flat = 0;
    for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
    yield flat;
  }
}

function stat(acc: Accumulated, params: EvalParams, s: StatSpec, category?: number): number {
  const a = params.areaRngLbl.flatMap((l, i) => (l === s.area ? [i] : []));
  const m = params.maxDets.flatMap((d, i) => (d === s.maxDets ? [i] : []));
  // Exact float equality, as numpy's `iouThr == p.iouThrs` (0.75 is exact in the linspace).
  const t = s.iouThr === undefined ? null : params.iouThrs.flatMap((v, i) => (v === s.iouThr ? [i] : []));
  const k = category === undefined ? null : [category];
  if (s.ap) return meanOfValid(acc.precision.data, selection(acc.precision.shape, [t, null, k, a, m]));
  return meanOfValid(acc.recall.data, selection(acc.recall.shape, [t, k, a, m]));
}

/** [AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl] */
export function summarize(acc: Accumulated, params: EvalParams): number[] {
  return statSpecs(params).map((s) => stat(acc, params, s));
}

/** AP@[.5:.95], all areas, most detections, for category index k (-1 when it has no GT). */
export function categoryAP(acc: Accumulated, params: EvalParams, k: number): number {
  return stat(acc, params, statSpecs(params)[0], k);
}

/**
 * Python's '{:0.Nf}': correctly rounded, ties to even. toFixed breaks exact ties upwards (0.0625 -> 0.063,
 * Python prints 0.062), so exact ties are detected on the double's exact decimal expansion.
 */
export function pythonFixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  if (!Number.isFinite(v) || Math.abs(v) >= 1e21) return s;
  const exact = Math.abs(v).toPrecision(100);
  const dot = exact.indexOf('.');
  if (dot < 0) return s;
  const tail = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return s;
  // Exact tie: toFixed rounded away from zero; step back when that made the last digit odd.
  const last = Number(s[s.length - 1]);
  if (last % 2 === 0) return s;
  const down = (Math.abs(v) - 0.5 * 10 ** -digits).toFixed(digits);
  return (v < 0 ? '-' : '') + down;
}

const fixed = pythonFixed;

/** The 12 lines pycocotools prints, character for character. */
export function formatSummary(stats: number[], params: EvalParams): string {
  const iouAll = `${fixed(params.iouThrs[0], 2)}:${fixed(params.iouThrs[params.iouThrs.length - 1], 2)}`;
  return statSpecs(params)
    .map((s, i) => {
      const title = (s.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
      const type = s.ap ? '(AP)' : '(AR)';
      const iou = (s.iouThr === undefined ? iouAll : fixed(s.iouThr, 2)).padEnd(9);
      return ` ${title} ${type} @[ IoU=${iou} | area=${s.area.padStart(6)} | maxDets=${String(s.maxDets).padStart(3)} ] = ${fixed(stats[i], 3)}`;
    })
    .join('\n');
}

import { Canvas, PALETTE } from './canvas';
import { textWidth } from './font';

export interface Series {
  name: string;
  points: [number, number][];
  /** Draw markers only (scatter), no joining line. */
  markersOnly?: boolean;
}

function niceNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** A line (or scatter) chart as PNG bytes: axes with min/max ticks, a title and a legend. */
export function lineChart(series: Series[], options: { title: string; xLabel: string; yLabel: string; width?: number; height?: number; logY?: boolean }): Uint8Array {
  const W = options.width ?? 720;
  const H = options.height ?? 420;
  const c = new Canvas(W, H);
  const left = 80;
  const right = W - 20;
  const top = 40;
  const bottom = H - 50;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0));
  const ty = (y: number) => (options.logY ? Math.log10(y) : y);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => ty(p[1]))), Math.max(...pts.map((p) => ty(p[1])))];
  if (!pts.length) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (right - left);
  const py = (y: number) => bottom - ((ty(y) - y0) / (y1 - y0)) * (bottom - top);
  const black: [number, number, number] = [0, 0, 0];
  const grey: [number, number, number] = [200, 200, 200];
  for (let k = 0; k <= 4; k++) {
    const y = top + ((bottom - top) * k) / 4;
    c.line(left, y, right, y, grey);
    const v = y1 - ((y1 - y0) * k) / 4;
    const label = niceNumber(options.logY ? 10 ** v : v);
    c.text(label, left - 6 - textWidth(label, 2), y - 5, black);
    const x = left + ((right - left) * k) / 4;
    const xv = niceNumber(x0 + ((x1 - x0) * k) / 4);
    c.text(xv, x - textWidth(xv, 2) / 2, bottom + 8, black);
  }
  c.line(left, top, left, bottom, black, 2);
  c.line(left, bottom, right, bottom, black, 2);
  c.text(options.title, left, 12, black, 3);
  c.text(options.xLabel, (left + right) / 2 - textWidth(options.xLabel, 2) / 2, H - 22, black);
  c.text(options.yLabel, 4, top - 16, black);
  series.forEach((s, i) => {
    const col = PALETTE[i % PALETTE.length];
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0));
    ok.forEach(([x, y], k) => {
      if (s.markersOnly || ok.length < 30) c.fill(px(x) - 3, py(y) - 3, px(x) + 4, py(y) + 4, col);
      if (!s.markersOnly && k > 0) c.line(px(ok[k - 1][0]), py(ok[k - 1][1]), px(x), py(y), col, 2);
    });
    const ly = top + 8 + i * 16;
    c.fill(right - 170, ly, right - 158, ly + 10, col);
    c.text(s.name, right - 152, ly, black);
  });
  return c.png();
}

/** Moving average over a window, for noisy loss curves. */
export function smooth(points: [number, number][], window: number): [number, number][] {
  return points.map(([x], i) => {
    const from = Math.max(0, i - window + 1);
    const slice = points.slice(from, i + 1);
    return [x, slice.reduce((a, p) => a + p[1], 0) / slice.length];
  });
}

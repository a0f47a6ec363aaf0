import { PNG } from 'pngjs';
import { GLYPH_WIDTH, rasterize } from './font5x7';

export type RGB = [number, number, number];

export interface ChartPoint {
  label: string;
  /** Used GFLOPs per image. */
  x: number;
  /** Median latency, ms. */
  y: number;
  series: string;
}

export interface ChartOptions {
  title: string;
  width: number;
  height: number;
  /** Colour per series name; series not named here get grey. */
  colors: Record<string, RGB>;
}

/** Series colours of the head bench: one per head family. */
export const HEAD_SERIES_COLORS: Record<string, RGB> = {
  'FCOS (4 conv)': [90, 90, 90],
  Fix: [31, 119, 180],
  'Dynamic D4': [255, 127, 14],
  'Dynamic D8': [214, 39, 40],
};

export const PLOT_MARGIN = { left: 80, right: 190, top: 44, bottom: 56 };

/** Axis range from 0 to a "nice" number above the largest value. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15]) if (m * p >= max * 1.05) return m * p;
  return 10 * p;
}

function tickLabel(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return Number(v.toFixed(1)).toString();
  return Number(v.toPrecision(2)).toString();
}

/**
 * Latency against used GFLOPs (paper Fig. 5 style): one point per head, series joined by lines in
 * FLOPs order, axes from 0 with ticks, a legend on the right. Returns PNG bytes (pngjs).
 */
export function latencyFlopsChart(points: ChartPoint[], options: Partial<ChartOptions> = {}): Buffer {
  const o: ChartOptions = { title: 'latency vs GFLOPs', width: 860, height: 520, colors: HEAD_SERIES_COLORS, ...options };
  const png = new PNG({ width: o.width, height: o.height });
  png.data.fill(255);
  const set = (x: number, y: number, [r, g, b]: RGB) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= o.width || yi >= o.height) return;
    const i = (yi * o.width + xi) * 4;
    png.data[i] = r;
    png.data[i + 1] = g;
    png.data[i + 2] = b;
    png.data[i + 3] = 255;
  };
  const text = (s: string, x: number, y: number, color: RGB = [0, 0, 0], scale = 2) =>
    rasterize(s, (px, py) => {
      for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) set(x + px * scale + dx, y + py * scale + dy, color);
    });
  const line = (x0: number, y0: number, x1: number, y1: number, color: RGB) => {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) set(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, color);
  };

  const m = PLOT_MARGIN;
  const plotW = o.width - m.left - m.right;
  const plotH = o.height - m.top - m.bottom;
  const xMax = niceMax(Math.max(0, ...points.map((p) => p.x)));
  const yMax = niceMax(Math.max(0, ...points.map((p) => p.y)));
  const px = (x: number) => m.left + (x / xMax) * plotW;
  const py = (y: number) => m.top + plotH - (y / yMax) * plotH;

  const grey: RGB = [200, 200, 200];
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax * i) / 5;
    const yv = (yMax * i) / 5;
    line(px(xv), m.top, px(xv), m.top + plotH, grey);
    line(m.left, py(yv), m.left + plotW, py(yv), grey);
    const xl = tickLabel(xv);
    text(xl, px(xv) - (xl.length * GLYPH_WIDTH * 2) / 2, m.top + plotH + 8);
    const yl = tickLabel(yv);
    text(yl, m.left - 8 - yl.length * GLYPH_WIDTH * 2, py(yv) - 7);
  }
  line(m.left, m.top, m.left, m.top + plotH, [0, 0, 0]);
  line(m.left, m.top + plotH, m.left + plotW, m.top + plotH, [0, 0, 0]);
  text(o.title, m.left, 12);
  text('used GFLOPs / image', m.left + plotW / 2 - 114, o.height - 22);
  text('ms', 12, m.top - 26);

  const colorOf = (series: string): RGB => o.colors[series] ?? [128, 128, 128];
  const series = [...new Set(points.map((p) => p.series))];
  for (const s of series) {
    const pts = points.filter((p) => p.series === s).sort((a, b) => a.x - b.x);
    for (let i = 1; i < pts.length; i++) line(px(pts[i - 1].x), py(pts[i - 1].y), px(pts[i].x), py(pts[i].y), colorOf(s));
  }
  for (const p of points) {
    const cx = px(p.x);
    const cy = py(p.y);
    for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) set(cx + dx, cy + dy, colorOf(p.series));
    text(p.label, cx + 8, cy - 12, colorOf(p.series), 1);
  }
  series.forEach((s, i) => {
    const y = m.top + 10 + i * 24;
    const x = o.width - m.right + 16;
    for (let dy = -5; dy <= 5; dy++) for (let dx = 0; dx <= 10; dx++) set(x + dx, y + dy, colorOf(s));
    text(s, x + 16, y - 7, [0, 0, 0], 2);
  });
  return PNG.sync.write(png);
}

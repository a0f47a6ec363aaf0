import { PNG } from 'pngjs';
import { drawText } from './font';

export type Rgb = [number, number, number];

/** An RGBA pixel buffer with the few drawing primitives plots and overlays need. */
export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.data.set([...background, 255], i * 4);
  }

  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    this.data.set(c, (yi * this.width + xi) * 4);
  }

  /** Bresenham line, `thick` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const r = Math.floor((thick - 1) / 2);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let dy = -r; dy <= r + ((thick - 1) % 2); dy++) for (let dx = -r; dx <= r + ((thick - 1) % 2); dx++) this.set(x + dx, y + dy, c);
    }
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1): void {
    this.line(x0, y0, x1, y0, c, thick);
    this.line(x1, y0, x1, y1, c, thick);
    this.line(x1, y1, x0, y1, c, thick);
    this.line(x0, y1, x0, y0, c, thick);
  }

  fill(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(this.height, Math.ceil(y1)); y++) {
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(this.width, Math.ceil(x1)); x++) this.data.set(c, (y * this.width + x) * 4);
    }
  }

  text(s: string, x: number, y: number, c: Rgb, scale = 2): void {
    drawText(s, x, y, scale, (px, py) => this.set(px, py, c));
  }

  /** Copies an RGB image in at (x, y). */
  blitRgb(rgb: Uint8Array, w: number, h: number, x: number, y: number): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, [rgb[(j * w + i) * 3], rgb[(j * w + i) * 3 + 1], rgb[(j * w + i) * 3 + 2]]);
  }

  /** The picture as PNG file bytes (a Buffer on Node; typed as the Uint8Array it is, so that the types need no Node). */
  png(): Uint8Array {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data);
    return PNG.sync.write(png);
  }
}

/** A heat colour for v in [0, 1] (black -> red -> yellow -> white). */
export function heat(v: number): Rgb {
  const t = Math.min(1, Math.max(0, v));
  return [Math.round(255 * Math.min(1, 3 * t)), Math.round(255 * Math.min(1, Math.max(0, 3 * t - 1))), Math.round(255 * Math.max(0, 3 * t - 2))];
}

export const PALETTE: Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
];

// Canvas drawing for the page: the image with its boxes, and gate maps as heatmaps (paper Fig. 4).
import type { Detections, RgbImage } from '@dynhead/detectors';
import type { GateMap } from './pipeline';

const CLASS_COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c'];

export function drawDetections(canvas: HTMLCanvasElement, image: RgbImage, detections: Detections, classNames: string[], minScore: number): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const pixels = new ImageData(image.width, image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    pixels.data.set(image.data.subarray(3 * i, 3 * i + 3), 4 * i);
    pixels.data[4 * i + 3] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  ctx.lineWidth = 2;
  ctx.font = '11px sans-serif';
  for (let k = 0; k < detections.scores.length; k++) {
    const score = detections.scores[k];
    if (score < minScore) continue;
    const [x1, y1, x2, y2] = detections.boxes.subarray(4 * k, 4 * k + 4);
    const color = CLASS_COLORS[detections.labels[k] % CLASS_COLORS.length];
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${classNames[detections.labels[k]] ?? detections.labels[k]} ${score.toFixed(2)}`;
    ctx.fillStyle = color;
    ctx.fillRect(x1, Math.max(0, y1 - 13), ctx.measureText(text).width + 4, 13);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, x1 + 2, Math.max(10, y1 - 3));
  }
}

/**
 * Gate value 0 -> black, 1 -> yellow (a short inferno-like ramp, on sqrt(v) so that small but
 * non-zero gates stay visible); exact zeros, the skipped pixels, stay black.
 */
function heat(v: number): [number, number, number] {
  if (v <= 0) return [0, 0, 0];
  const t = Math.sqrt(Math.min(1, v));
  return [Math.round(40 + 215 * Math.min(1, t * 1.6)), Math.round(20 + 200 * t * t), Math.round(90 * (1 - t) + 30 * t)];
}

/** One gate map scaled up (nearest) to `cellWidth` pixels wide. */
export function gateCanvas(gate: GateMap, cellWidth: number): HTMLCanvasElement {
  const scale = Math.max(1, Math.floor(cellWidth / gate.width));
  const canvas = document.createElement('canvas');
  canvas.width = gate.width * scale;
  canvas.height = gate.height * scale;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = ctx.createImageData(canvas.width, canvas.height);
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) {
      const [r, g, b] = heat(gate.values[Math.floor(y / scale) * gate.width + Math.floor(x / scale)]);
      const i = 4 * (y * canvas.width + x);
      img.data[i] = r;
      img.data[i + 1] = g;
      img.data[i + 2] = b;
      img.data[i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  canvas.title = `${gate.module} P${gate.level + 3}: ${(activeFraction(gate) * 100).toFixed(0)}% on`;
  return canvas;
}

export function activeFraction(gate: GateMap): number {
  let on = 0;
  for (const v of gate.values) if (v > 0) on++;
  return on / gate.values.length;
}

/**
 * A table of gate maps: one row per tower and block (depth), one column per level (P3..P7), for the
 * chosen path (the depth node's gate, or one of the scale node's two paths).
 */
export function gateTable(gates: GateMap[], path: string, cellWidth = 96): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'gates';
  const chosen = gates.filter((g) => g.path === path);
  const levels = [...new Set(chosen.map((g) => g.level))].sort((a, b) => a - b);
  const head = table.insertRow();
  head.insertCell().textContent = '';
  for (const l of levels) head.insertCell().textContent = `P${l + 3}`;
  const rows = [...new Set(chosen.map((g) => `${g.tower}:${g.block}`))];
  for (const key of rows) {
    const [tower, block] = key.split(':');
    const row = table.insertRow();
    row.insertCell().textContent = `${tower} depth ${Number(block) + 1}`;
    for (const l of levels) {
      const cell = row.insertCell();
      const g = chosen.find((x) => `${x.tower}:${x.block}` === key && x.level === l);
      if (!g) continue;
      cell.appendChild(gateCanvas(g, cellWidth));
      const caption = document.createElement('div');
      caption.textContent = `${(activeFraction(g) * 100).toFixed(0)}% on`;
      cell.appendChild(caption);
    }
  }
  return table;
}

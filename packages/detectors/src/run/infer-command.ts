import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { loadImage } from '@dynhead/coco';
import * as tf from '@tensorflow/tfjs-core';
import { assembleBatch, resizeImage, resizedSize } from '../data/batch';
import type { Detector } from '../model/detector';
import type { Detections } from '../postprocess/detections';
import { Canvas, PALETTE, heat } from '../plot/canvas';
import { openCheckpoint } from './eval-command';
import { InputError } from '../input-error';

export interface InferCommandOptions {
  checkpoint: string;
  image: string;
  out: string;
  /** Draw boxes scoring at least this. */
  scoreThreshold?: number;
  /** Names by label; default: the checkpoint's categories, else the label numbers. */
  classNames?: string[];
}

/** runInferAll: several images, one PNG each in `outDir`. */
export interface InferAllOptions extends Omit<InferCommandOptions, 'image' | 'out'> {
  images: string[];
  /** Created if missing; each image's figure is `<its name without extension>.png` here. */
  outDir: string;
}

export interface InferResult {
  /** The image read and the PNG written. */
  image: string;
  out: string;
  detections: Detections;
  /** Names by label (classNames, or the checkpoint's categories), when known. */
  classNames?: string[];
  gflops: number;
  fullGflops: number;
  /** Fraction of gate pixels that are exactly zero, per level (P3 first). */
  gateSparsity: number[];
}

/**
 * `dynhead infer`: detects objects in one image and writes a PNG with the boxes on top and, below,
 * one panel per pyramid level with the mean of the depth nodes' spatial gates (both towers, all
 * blocks; the paper's Fig. 4): bright where the head spends computation, black where it skips.
 */
export async function runInfer(o: InferCommandOptions): Promise<InferResult> {
  const [r] = await inferImages(o, [{ image: o.image, out: o.out }]);
  return r;
}

/** runInfer over several images with the checkpoint loaded once; results in the order given. */
export async function runInferAll(o: InferAllOptions): Promise<InferResult[]> {
  const outs = new Map<string, string>();
  for (const image of o.images) {
    const out = join(o.outDir, `${basename(image, extname(image))}.png`);
    const other = outs.get(out);
    if (other !== undefined) throw new InputError(`--image: ${other} and ${image} would both be drawn to ${out}`);
    outs.set(out, image);
  }
  return inferImages(o, [...outs].map(([out, image]) => ({ image, out })));
}

async function inferImages(o: Omit<InferCommandOptions, 'image' | 'out'>, jobs: { image: string; out: string }[]): Promise<InferResult[]> {
  // every image is checked before the model is loaded or a folder made
  for (const { image } of jobs) if (!existsSync(image)) throw new InputError(`--image: ${image} does not exist`);
  for (const { out } of jobs) mkdirSync(dirname(out), { recursive: true });
  const { detector, meta } = openCheckpoint(o.checkpoint);
  const classNames = o.classNames ?? meta.categories?.map((c) => c.name);
  try {
    const results: InferResult[] = [];
    for (const { image, out } of jobs) results.push({ image, out, classNames, ...(await inferImage(detector, image, out, o.scoreThreshold ?? 0.5, classNames)) });
    return results;
  } finally {
    detector.dispose();
  }
}

async function inferImage(detector: Detector, path: string, out: string, threshold: number, classNames?: string[]) {
  const img = await loadImage(path);
  const size = resizedSize(img.height, img.width, detector.config.input);
  const resized = await resizeImage(img, size.height, size.width);
  const sample = { imageId: 0, file: path, width: img.width, height: img.height, boxes: new Float32Array(0), labels: new Int32Array(0) };
  const batch = assembleBatch([{ image: resized, sample, flip: false }], detector.config.input.sizeDivisibility);
  const r = await detector.detect(batch, { recordGates: true });
  batch.images.dispose();
  const dets = r.detections[0];
  const gates = r.gates ?? {};
  const levels = detector.config.head.strides.length;
  const maps: { data: Float32Array; h: number; w: number }[] = [];
  const sparsity: number[] = [];
  // The depth nodes' gates are where the budget bites (the scale paths are charged detached).
  const names = Object.keys(gates);
  const depth = names.filter((n) => n.includes('depth'));
  const shown = depth.length ? depth : names;
  for (let l = 0; l < levels; l++) {
    const per = shown.map((n) => gates[n][l]).filter(Boolean);
    if (!per.length) continue;
    const mean = tf.tidy(() => tf.mean(tf.stack(per.map((g) => tf.squeeze(g, [0, 3]))), 0));
    const zeros = tf.tidy(() => tf.mean(tf.stack(per.map((g) => tf.cast(tf.equal(g, 0), 'float32')))));
    maps.push({ data: (await mean.data()) as Float32Array, h: mean.shape[0] as number, w: mean.shape[1] as number });
    sparsity.push((await zeros.data())[0]);
    tf.dispose([mean, zeros]);
  }
  for (const g of Object.values(gates)) tf.dispose(g);
  writeFileSync(out, drawFigure(img, dets, maps, threshold, classNames));
  const g = 2 ** 30;
  return { detections: dets, gflops: r.used[0] / g, fullGflops: r.full[0] / g, gateSparsity: sparsity };
}

function drawFigure(img: { data: Uint8Array; width: number; height: number }, dets: Detections, maps: { data: Float32Array; h: number; w: number }[], threshold: number, names?: string[]): Uint8Array {
  const W = img.width;
  const panel = maps.length ? Math.floor(W / maps.length) : 0;
  const panelH = maps.length ? Math.max(...maps.map((m) => Math.round((panel * m.h) / m.w))) : 0;
  const c = new Canvas(W, img.height + (maps.length ? panelH + 24 : 0), [255, 255, 255]);
  c.blitRgb(img.data, img.width, img.height, 0, 0);
  for (let k = 0; k < dets.scores.length; k++) {
    if (dets.scores[k] < threshold) continue;
    const [x1, y1, x2, y2] = dets.boxes.subarray(4 * k, 4 * k + 4);
    const col = PALETTE[dets.labels[k] % PALETTE.length];
    c.rect(x1, y1, x2, y2, col, 2);
    const label = `${names?.[dets.labels[k]] ?? dets.labels[k]} ${dets.scores[k].toFixed(2)}`;
    c.fill(x1, y1 - 12, x1 + label.length * 8 + 2, y1, col);
    c.text(label, x1 + 1, y1 - 11, [255, 255, 255]);
  }
  maps.forEach((m, l) => {
    const x0 = l * panel;
    const y0 = img.height + 20;
    const h = Math.round((panel * m.h) / m.w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < panel - 4; x++) {
        const sy = Math.min(m.h - 1, Math.floor((y * m.h) / h));
        const sx = Math.min(m.w - 1, Math.floor((x * m.w) / (panel - 4)));
        c.set(x0 + x, y0 + y, heat(m.data[sy * m.w + sx]));
      }
    }
    c.text(`P${l + 3}`, x0 + 2, img.height + 4, [0, 0, 0]);
  });
  return c.png();
}

// The demo's model and inference, shared by the page (WebGPU in the browser) and the Node test that
// checks the page against it: nothing here touches the DOM or Node.
import {
  assembleBatch,
  type DetectorConfig,
  Detector,
  type Detections,
  detectorConfigs,
  fcosDynamicTiny,
  resizedSize,
  resizeImage,
  type RgbImage,
  syntheticDataset,
} from '@dynhead/detectors';
import { parseSafetensors, type StoredTensor } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';

export const DEFAULT_CONFIG = fcosDynamicTiny.name;

/** Every detector config the page offers, by name. */
export function demoConfigs(): Record<string, DetectorConfig> {
  return { ...detectorConfigs, [fcosDynamicTiny.name]: fcosDynamicTiny };
}

export function demoConfig(name: string = DEFAULT_CONFIG): DetectorConfig {
  const config = demoConfigs()[name];
  if (!config) throw new Error(`config '${name}' is unknown; known: ${Object.keys(demoConfigs()).join(', ')}`);
  return config;
}

/**
 * The model weights of a safetensors file: a dynhead training checkpoint (keys `model.*`, optimizer
 * state beside them) or a bare state dict as Detector.stateDict() writes it.
 */
export function checkpointWeights(bytes: Uint8Array, source: string): Map<string, StoredTensor> {
  const file = parseSafetensors(bytes, source);
  const model = [...file.tensors].filter(([name]) => name.startsWith('model.'));
  if (model.length > 0) return new Map(model.map(([name, t]) => [name.slice('model.'.length), t]));
  return new Map([...file.tensors].filter(([name]) => !name.startsWith('optimizer.')));
}

/**
 * The config a `dynhead train` checkpoint directory was trained with (its checkpoint.json carries the
 * whole DetectorConfig) and the name of its weights file.
 */
export function readCheckpointJson(text: string, source: string): { config: DetectorConfig; weights: string; classNames?: string[] } {
  let meta: { format?: string; weights?: string; config?: DetectorConfig; categories?: unknown };
  try {
    meta = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  if (meta.format !== 'dynhead-checkpoint/1') throw new Error(`${source}: format is ${JSON.stringify(meta.format)}, expected "dynhead-checkpoint/1"`);
  if (typeof meta.weights !== 'string') throw new Error(`${source}: field "weights" (the safetensors file name) is missing`);
  const c = meta.config;
  if (!c || typeof c !== 'object' || !c.head || !c.backbone || !c.input || !c.test) {
    throw new Error(`${source}: field "config" must be a detector config with head, backbone, input and test`);
  }
  // the training data's categories in label order, in checkpoints that keep them
  const categories = meta.categories;
  if (categories !== undefined && !(Array.isArray(categories) && categories.every((k) => typeof k?.name === 'string'))) {
    throw new Error(`${source}: field "categories" must be a list of {id, name}`);
  }
  return { config: c, weights: meta.weights, classNames: categories?.map((k: { name: string }) => k.name) };
}

/** A detector with seeded random weights (its constructor's), or the weights of a checkpoint. */
export function createDetector(config: DetectorConfig, checkpoint?: { bytes: Uint8Array; source: string }): Detector {
  const detector = new Detector(config);
  if (checkpoint) {
    try {
      detector.loadStateDict(checkpointWeights(checkpoint.bytes, checkpoint.source), checkpoint.source);
    } catch (e) {
      detector.dispose();
      throw e;
    }
  }
  return detector;
}

/** The demo image when none is given: a synthetic scene of coloured boxes (same pixels everywhere). */
export async function defaultImage(width = 160, height = 128, seed = 7): Promise<RgbImage> {
  const set = syntheticDataset(1, width, height, seed);
  return set.decode(set.samples[0].file);
}

export interface GateMap {
  /** Official module path, e.g. `cls_subnet.2.depth_module.gate`. */
  module: string;
  tower: 'cls' | 'bbox';
  block: number;
  /** 'depth' (the depth node's gate) or 'scale0' / 'scale1' (the scale node's two paths). */
  path: string;
  level: number;
  height: number;
  width: number;
  values: Float32Array;
}

export interface DemoResult {
  detections: Detections;
  /** Head multiply-adds of this image: used by the sparse path, and the full (dense) head. */
  used: number;
  full: number;
  /** Wall-clock ms of the timed run (after a warm-up run). */
  latencyMs: number;
  gates: GateMap[];
  input: { height: number; width: number };
}

function describeGate(module: string): Pick<GateMap, 'tower' | 'block' | 'path'> {
  const m = /^(cls|bbox)_subnet\.(\d+)\.(depth_module|dynamic_convs\.(\d+))\.gate$/.exec(module);
  if (!m) return { tower: 'cls', block: -1, path: module };
  return { tower: m[1] as 'cls' | 'bbox', block: Number(m[2]), path: m[3] === 'depth_module' ? 'depth' : `scale${m[4]}` };
}

/**
 * Resizes the image as the config's test input, runs the detector once to warm up (shader
 * compilation on WebGPU), then once timed with the gate maps recorded.
 */
export async function detectImage(detector: Detector, image: RgbImage): Promise<DemoResult> {
  const input = detector.config.input;
  const size = resizedSize(image.height, image.width, input);
  const resized = await resizeImage(image, size.height, size.width);
  const sample = { imageId: 1, file: 'image', width: image.width, height: image.height, boxes: new Float32Array(0), labels: new Int32Array(0) };
  const batch = assembleBatch([{ image: resized, sample, flip: false }], input.sizeDivisibility);
  try {
    await detector.detect(batch);
    const t0 = performance.now();
    const r = await detector.detect(batch, { recordGates: true });
    const latencyMs = performance.now() - t0;
    const gates: GateMap[] = [];
    for (const [module, maps] of Object.entries(r.gates ?? {})) {
      for (let level = 0; level < maps.length; level++) {
        const [, height, width] = maps[level].shape;
        gates.push({ module, ...describeGate(module), level, height, width, values: (await maps[level].data()) as Float32Array });
      }
      tf.dispose(maps);
    }
    return { detections: r.detections[0], used: r.used[0], full: r.full[0], latencyMs, gates, input: { height: batch.images.shape[1], width: batch.images.shape[2] } };
  } finally {
    batch.images.dispose();
  }
}

/** Plain-JSON form of detections, for the page's result hook and the test. */
export function detectionsToJson(d: Detections): { box: number[]; score: number; label: number }[] {
  return Array.from(d.scores, (score, k) => ({ box: Array.from(d.boxes.subarray(4 * k, 4 * k + 4)), score, label: d.labels[k] }));
}

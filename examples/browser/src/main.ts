// The demo page: loads a checkpoint (or seeded random weights) and an image, runs FCOS with the
// fine-grained dynamic head on WebGPU, and shows boxes, gate maps, used vs full FLOPs and latency.
// URL parameters (all optional): checkpoint (URL of a `dynhead train` output directory: its
// checkpoint.json gives config and weights), or config + weights (URL of a .safetensors), image
// (URL), classes (comma-separated names; default: the checkpoint's categories), backend (default webgpu).
import type { RgbImage } from '@dynhead/detectors';
import { useBackend } from '@dynhead/runtime';
import { drawDetections, gateTable } from './draw';
import type { DetectorConfig } from '@dynhead/detectors';
import {
  createDetector,
  DEFAULT_CONFIG,
  type DemoResult,
  defaultImage,
  demoConfig,
  demoConfigs,
  detectImage,
  detectionsToJson,
  readCheckpointJson,
} from './pipeline';

/** What the page reports to scripts (the browser test reads it). */
interface PageResult {
  status: 'running' | 'done' | 'error';
  error?: string;
  backend?: string;
  config?: string;
  detections?: ReturnType<typeof detectionsToJson>;
  used?: number;
  full?: number;
  latencyMs?: number;
  gates?: { module: string; level: number; active: number }[];
}

declare global {
  interface Window {
    __dynhead: PageResult;
  }
}

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Decodes to RGB without colour management, so a PNG gives exactly its stored pixels. */
async function decodeImage(blob: Blob, name: string): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new Error(`${name}: not an image the browser can decode (${(e as Error).message})`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const data = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0; i < bitmap.width * bitmap.height; i++) data.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return { data, width: bitmap.width, height: bitmap.height };
}

async function chooseBackend(): Promise<string> {
  const wanted = params.get('backend') ?? 'webgpu';
  try {
    const b = await useBackend(wanted);
    return `${b.name} (${b.detail})`;
  } catch (e) {
    if (wanted !== 'webgpu') throw e;
    // Still useful without WebGPU, and says so.
    const b = await useBackend('cpu');
    return `${b.name}: WebGPU unavailable (${(e as Error).message})`;
  }
}

interface Inputs {
  image: RgbImage;
  checkpoint?: { bytes: Uint8Array; source: string };
  /** From a checkpoint.json, overriding the config selector. */
  config?: DetectorConfig;
  /** From a checkpoint.json that keeps its training data's categories. */
  classNames?: string[];
}

async function loadInputs(): Promise<Inputs> {
  const files = Array.from($<HTMLInputElement>('weights').files ?? []);
  const weightsFile = files.find((f) => f.name.endsWith('.safetensors'));
  const jsonFile = files.find((f) => f.name.endsWith('.json'));
  const imageFile = $<HTMLInputElement>('imageFile').files?.[0];
  let checkpoint: { bytes: Uint8Array; source: string } | undefined;
  let config: DetectorConfig | undefined;
  let classNames: string[] | undefined;
  if (jsonFile) ({ config, classNames } = readCheckpointJson(await jsonFile.text(), jsonFile.name));
  if (weightsFile) checkpoint = { bytes: new Uint8Array(await weightsFile.arrayBuffer()), source: weightsFile.name };
  else if (params.get('checkpoint')) {
    const dir = (params.get('checkpoint') as string).replace(/\/$/, '');
    const res = await fetch(`${dir}/checkpoint.json`);
    if (!res.ok) throw new Error(`${dir}/checkpoint.json: HTTP ${res.status}`);
    const meta = readCheckpointJson(await res.text(), `${dir}/checkpoint.json`);
    config = meta.config;
    classNames = meta.classNames;
    checkpoint = { bytes: await fetchBytes(`${dir}/${meta.weights}`), source: `${dir}/${meta.weights}` };
  } else if (params.get('weights')) checkpoint = { bytes: await fetchBytes(params.get('weights') as string), source: params.get('weights') as string };
  let image: RgbImage;
  if (imageFile) image = await decodeImage(imageFile, imageFile.name);
  else if (params.get('image')) {
    const url = params.get('image') as string;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    image = await decodeImage(await res.blob(), url);
  } else image = await defaultImage();
  return { image, checkpoint, config, classNames };
}

function showStats(backend: string, config: string, r: DemoResult, weights: string): void {
  const g = (x: number) => `${(x / 2 ** 30).toFixed(4)} GFLOPs`;
  const rows: [string, string][] = [
    ['backend', backend],
    ['config', config],
    ['weights', weights],
    ['input', `${r.input.height} x ${r.input.width}`],
    ['latency', `${r.latencyMs.toFixed(1)} ms (second run)`],
    ['head FLOPs used', `${g(r.used)} (${((100 * r.used) / r.full).toFixed(1)}% of full)`],
    ['head FLOPs full', g(r.full)],
    ['detections', String(r.detections.scores.length)],
  ];
  const table = $<HTMLTableElement>('stats');
  table.replaceChildren();
  for (const [k, v] of rows) {
    const row = table.insertRow();
    row.insertCell().textContent = k;
    row.insertCell().textContent = v;
    row.cells[1].id = `stat-${k.replace(/\s+/g, '-')}`;
  }
}

let last: { image: RgbImage; result: DemoResult; classes: string[] } | null = null;

function render(): void {
  if (!last) return;
  const minScore = Number($<HTMLInputElement>('minScore').value) || 0;
  drawDetections($<HTMLCanvasElement>('image'), last.image, last.result.detections, last.classes, minScore);
  const list = detectionsToJson(last.result.detections).slice(0, 50);
  $('detections').textContent = list
    .map((d) => `${(last?.classes[d.label] ?? d.label).toString().padEnd(10)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(', ')}]`)
    .join('\n');
  $('gates').replaceChildren(gateTable(last.result.gates, $<HTMLSelectElement>('gatePath').value));
}

async function run(): Promise<void> {
  window.__dynhead = { status: 'running' };
  const status = $('status');
  status.className = '';
  status.textContent = 'running...';
  try {
    const backend = await chooseBackend();
    const inputs = await loadInputs();
    const { image, checkpoint } = inputs;
    const config = inputs.config ?? demoConfig($<HTMLSelectElement>('config').value);
    const configName = config.name;
    if (inputs.config && !Array.from(select.options).some((o) => o.value === configName)) select.add(new Option(`${configName} (checkpoint)`, configName));
    select.value = configName;
    const detector = createDetector(config, checkpoint);
    let result: DemoResult;
    try {
      result = await detectImage(detector, image);
    } finally {
      detector.dispose();
    }
    const classes = params.get('classes')?.split(',') ?? inputs.classNames ?? Array.from({ length: config.head.numClasses }, (_, i) => `class ${i}`);
    last = { image, result, classes };
    showStats(backend, configName, result, checkpoint?.source ?? 'seeded random');
    render();
    window.__dynhead = {
      status: 'done',
      backend,
      config: configName,
      detections: detectionsToJson(result.detections),
      used: result.used,
      full: result.full,
      latencyMs: result.latencyMs,
      gates: result.gates.map((g) => ({ module: g.module, level: g.level, active: g.values.filter((v) => v > 0).length })),
    };
    status.textContent = `done in ${result.latencyMs.toFixed(1)} ms on ${backend}`;
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    window.__dynhead = { status: 'error', error: message };
    status.className = 'error';
    status.textContent = `error: ${message}`;
    console.error(e);
  }
}

const select = $<HTMLSelectElement>('config');
for (const name of Object.keys(demoConfigs())) select.add(new Option(name, name));
select.value = params.get('config') ?? DEFAULT_CONFIG;
$<HTMLFormElement>('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  void run();
});
$('minScore').addEventListener('input', render);
$('gatePath').addEventListener('change', render);
void run();

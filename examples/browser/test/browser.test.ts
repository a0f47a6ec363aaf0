// The demo page in real headless Chromium (Debian's, WebGPU on SwiftShader): built with vite,
// served on 127.0.0.1, given a checkpoint and a PNG; its detections must equal Node's (cpu) for the
// same weights and image. Saves a screenshot to test-results/browser-demo.png.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Detector, fcosDynamicTiny } from '@dynhead/detectors';
import { serializeSafetensors } from '@dynhead/safetensors';
import * as tf from '@tensorflow/tfjs-core';
import { type Browser, chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activate } from '../../../test/backends';
import { createDetector, type DemoResult, defaultImage, detectImage, detectionsToJson } from '../src/pipeline';
import { type StaticServer, serveStatic } from '../../../test/static-server';

const here = fileURLToPath(new URL('..', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface PageResult {
  status: string;
  error?: string;
  backend?: string;
  detections?: { box: number[]; score: number; label: number }[];
  used?: number;
  full?: number;
  latencyMs?: number;
  gates?: { module: string; level: number; active: number }[];
}

/**
 * Seeded random weights made informative: a steeper classifier (scores spread out instead of all
 * near the prior, so ranking and NMS are not decided by rounding) and gate biases at 0 (about half
 * the gates exactly zero, so the sparse path matters).
 */
async function testCheckpoint(detector: Detector): Promise<Uint8Array> {
  tf.tidy(() => {
    for (const [name, v] of detector.trainableVariables()) {
      if (/cls_score\.weight$/.test(name)) v.assign(tf.mul(v, 300));
      if (/gate\.gate_conv\.bias$/.test(name)) v.assign(tf.zerosLike(v));
    }
  });
  // in float16, as `dynhead export --half` ships a model: the page decodes it as Node does
  return serializeSafetensors(await detector.stateDict(), { config: fcosDynamicTiny.name }, { floats: 'F16' });
}

describe('browser demo (Chromium, WebGPU)', () => {
  let server: StaticServer;
  let browser: Browser;
  let reference: DemoResult;
  let imageSize: { width: number; height: number };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian chromium (scripts/setup.sh) or set CHROMIUM_PATH`);
    await build({ configFile: `${here}vite.config.ts`, logLevel: 'error' });

    await activate('cpu');
    const seeded = createDetector(fcosDynamicTiny);
    const weights = await testCheckpoint(seeded);
    seeded.dispose();
    const image = await defaultImage();
    imageSize = { width: image.width, height: image.height };
    const png = new PNG({ width: image.width, height: image.height });
    for (let i = 0; i < image.width * image.height; i++) {
      png.data.set(image.data.subarray(3 * i, 3 * i + 3), 4 * i);
      png.data[4 * i + 3] = 255;
    }
    const detector = createDetector(fcosDynamicTiny, { bytes: weights, source: 'test.safetensors' });
    reference = await detectImage(detector, image);
    detector.dispose();

    server = await serveStatic(`${here}dist`, {
      '/fixtures/weights.safetensors': weights,
      '/fixtures/image.png': PNG.sync.write(png),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows the same detections as Node for the same checkpoint and image, on WebGPU", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    const query = `config=${fcosDynamicTiny.name}&weights=/fixtures/weights.safetensors&image=/fixtures/image.png`;
    await page.goto(`${server.url}/?${query}`);
    await page.waitForFunction(() => {
      const r = (window as unknown as { __dynhead?: { status: string } }).__dynhead;
      return r !== undefined && r.status !== 'running';
    }, undefined, { timeout: 240_000 });
    const got = (await page.evaluate(() => (window as unknown as { __dynhead: unknown }).__dynhead)) as PageResult;
    mkdirSync(`${repo}test-results`, { recursive: true });
    await page.screenshot({ path: `${repo}test-results/browser-demo.png`, fullPage: true });
    await page.close();

    expect(got.error, logs.join('\n')).toBeUndefined();
    expect(got.status).toBe('done');
    expect(got.backend).toMatch(/^webgpu/);

    // Boxes clipped to zero width or height at the image border carry no information (and their
    // NaN IoUs make NMS order-dependent): both sides are compared without them.
    const proper = (d: { box: number[] }) => d.box[2] - d.box[0] >= 1 && d.box[3] - d.box[1] >= 1;
    const want = detectionsToJson(reference.detections).filter(proper);
    const dets = (got.detections ?? []).filter(proper);
    expect(want.length).toBeGreaterThan(10);
    expect(dets).toHaveLength(want.length);
    // Each Node detection has its twin on the page: same class, score within 1e-3, box corners
    // within 1e-3 of the image size (matched as a set: equal scores may swap places).
    const scale = Math.max(imageSize.width, imageSize.height);
    const left = [...dets];
    const unmatched: string[] = [];
    for (const w of want) {
      const i = left.findIndex(
        (d) => d.label === w.label && Math.abs(d.score - w.score) <= 1e-3 && d.box.every((v, j) => Math.abs(v - w.box[j]) / scale <= 1e-3),
      );
      if (i < 0) unmatched.push(JSON.stringify(w));
      else left.splice(i, 1);
    }
    expect(unmatched).toEqual([]);

    // Same FLOPs: the same gates are exactly zero on both.
    expect(got.full, logs.join('\n')).toBe(reference.full);
    expect(Math.abs((got.used ?? 0) - reference.used) / reference.full).toBeLessThanOrEqual(1e-3);
    expect(reference.used).toBeLessThan(reference.full);
    const gateCount = reference.gates.length;
    expect(got.gates).toHaveLength(gateCount);
    expect(existsSync(`${repo}test-results/browser-demo.png`)).toBe(true);
  }, 300_000);
});

// canvasImageDecoder (the browser path) in real headless Chromium, against known PNG pixels and
// against sharp's decode of a BCCD JPEG.
import { existsSync, readFileSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BCCD_IMAGES } from '../test-support/shared';
import { canvasImageDecoder, loadImage } from '../index';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('canvasImageDecoder in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian chromium (scripts/setup.sh) or set CHROMIUM_PATH`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox'],
    });
  });
  afterAll(async () => browser?.close());

  /** Runs the decoder's own source in the page on `bytes` (base64 both ways: JSON arrays of 1M numbers are slow). */
  async function decodeInPage(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
    const page = await browser.newPage();
    try {
      const out = await page.evaluate(
        async ([source, input]) => {
          const raw = atob(input);
          const bytesIn = new Uint8Array(raw.length);
          for (let i = 0; i < raw.length; i++) bytesIn[i] = raw.charCodeAt(i);
          // The decoder's source, compiled in the page.
          const make = new Function(`return (${source})`)() as () => (b: Uint8Array, s: string) => Promise<{ data: Uint8Array; width: number; height: number }>;
          const img = await make()(bytesIn, 'test');
          let text = '';
          for (let i = 0; i < img.data.length; i += 0x8000) text += String.fromCharCode(...img.data.subarray(i, i + 0x8000));
          return { data: btoa(text), width: img.width, height: img.height };
        },
        [canvasImageDecoder.toString(), Buffer.from(bytes).toString('base64')] as const,
      );
      return {
        data: new Uint8Array(Buffer.from(out.data, 'base64')),
        width: out.width,
        height: out.height,
      };
    } finally {
      await page.close();
    }
  }

  it('decodes an RGBA PNG to its exact RGB pixels', async () => {
    const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255]);
    const png = PNG.sync.write({ width: 3, height: 2, data: rgba } as PNG);
    const got = await decodeInPage(png);
    expect([got.width, got.height]).toEqual([3, 2]);
    expect(Array.from(got.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('decodes a BCCD JPEG exactly as sharp does', async () => {
    const path = `${BCCD_IMAGES}/BloodImage_00001.jpg`;
    const got = await decodeInPage(readFileSync(path));
    const ref = await loadImage(path);
    expect([got.width, got.height]).toEqual([ref.width, ref.height]);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < ref.data.length; i++) {
      const d = Math.abs(got.data[i] - ref.data[i]);
      sum += d;
      max = Math.max(max, d);
    }
    // Bit-identical with Debian's Chromium 156 and sharp 0.35 (both libjpeg-turbo's IDCT).
    expect(max).toBe(0);
    expect(sum).toBe(0);
  });
});

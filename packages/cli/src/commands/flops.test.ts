import { describe, expect, it } from 'vitest';
import { bufferIO, main } from '../index';

describe('dynhead flops', () => {
  it("counts the conventional FCOS head's multiply-adds by hand: 8 convs of C*C*9 + C per pixel over P3..P7", async () => {
    const io = bufferIO();
    expect(await main(['--json', 'flops', '--config', 'fcos-d2'], io)).toBe(0);
    const r = JSON.parse(io.stdout);
    // 800x1333 padded to 800x1344 (size divisibility 32); each level halves with ceil
    const pixels = [100 * 168, 50 * 84, 25 * 42, 13 * 21, 7 * 11];
    const perPixel = 2 * 4 * (256 * 256 * 9 + 256);
    expect(r).toMatchObject({ config: 'fcos-d2', kind: 'conventional', inputHeight: 800, inputWidth: 1344, pixelsPerLevel: pixels, perPixel });
    expect(r.fullGflops).toBe((perPixel * pixels.reduce((a, b) => a + b)) / 2 ** 30);
    const text = bufferIO();
    expect(await main(['flops', '--config', 'fcos-d2'], text)).toBe(0);
    expect(text.stdout).toBe('fcos-d2 (conventional head): input 1344x800, 4720640 multiply-adds per pixel, full head 98.48 GFLOPs\n');
  });

  it('names the known configs when --config is missing or unknown', async () => {
    const io = bufferIO();
    expect(await main(['flops'], io)).toBe(1);
    expect(io.stderr).toMatch(/^dynhead: flops: --config is required; known: .*fcos-dynamic-d8-mid/);
    const unknown = bufferIO();
    expect(await main(['flops', '--config', 'fcos-d9'], unknown)).toBe(1);
    expect(unknown.stderr).toMatch(/^dynhead: unknown config 'fcos-d9'; known: /);
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, serializeSafetensors } from '@dynhead/safetensors';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../../../test/fixtures';
import { bufferIO, main } from '../index';

// torchvision's ResNet-18 + FPN on one image (the backbone file: seconds, where a head file takes a minute)
const GOLDEN = fileURLToPath(new URL('../../../../../shared/golden/resnet18-fpn-c64.safetensors', import.meta.url));
const tempDir = tempDirs('parity');

interface Groups {
  ok: boolean;
  groups: Record<string, { worst: number; tolerance: number; ok: boolean; count: number }>;
}

describe('dynhead parity', () => {
  it('passes on the golden file and fails, naming the group, when one of its outputs is 1% off', async () => {
    const io = bufferIO();
    expect(await main(['--backend', 'wasm', '--json', 'parity', '--golden', GOLDEN], io)).toBe(0);
    const r = JSON.parse(io.stdout) as Groups;
    expect(r.ok).toBe(true);
    expect(Object.keys(r.groups).sort()).toEqual(['backbone', 'fpn']);
    expect([r.groups.backbone.count, r.groups.fpn.count]).toEqual([3, 5]);
    for (const g of Object.values(r.groups)) expect(g.worst).toBeLessThan(1e-5);

    // the reference P5 scaled by 1.01: ours is off by 0.01 / 1.01 of it in relative L2
    const file = parseSafetensors(new Uint8Array(readFileSync(GOLDEN)), GOLDEN);
    const p5 = file.tensors.get('output.p5');
    if (!p5) throw new Error('no output.p5 in the golden file');
    file.tensors.set('output.p5', { ...p5, data: Float32Array.from(p5.data, (v) => Math.fround(v * 1.01)) });
    const dir = tempDir();
    const off = join(dir, 'off.safetensors');
    writeFileSync(off, serializeSafetensors(file.tensors, file.metadata));
    const bad = bufferIO();
    expect(await main(['--backend', 'wasm', '--json', 'parity', '--golden', off], bad)).toBe(1);
    const b = JSON.parse(bad.stdout) as Groups;
    expect(b.ok).toBe(false);
    expect(b.groups.backbone.ok).toBe(true);
    expect(b.groups.fpn.ok).toBe(false);
    expect(Math.abs(b.groups.fpn.worst - 0.01 / 1.01)).toBeLessThan(1e-4);
    expect(bad.stderr).toContain('dynhead: parity: fpn out of tolerance\n');
  }, 120_000);
});

import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { installUniformCache, uniformCacheStats, useBackend } from './index';
import { runSteadySteps } from './steady-steps.test-util';
import type { UniformBackend, UniformLike } from './uniform-cache';

/**
 * A backend whose makeUniforms packs each value as 4 bytes (tfjs aligns them; the cache only copies
 * what was written) into a fresh pool buffer, as tfjs's does, and whose device records its buffers.
 */
function fakeBackend() {
  const writes: { buffer: unknown; bytes: number[] }[] = [];
  const created: { size: number; usage: number }[] = [];
  let pooled = 0;
  const backend = {
    made: 0,
    queue: {
      writeBuffer(buffer: unknown, _offset: number, data: ArrayBuffer | ArrayBufferView, dataOffset = 0, size?: number) {
        const all = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
        writes.push({ buffer, bytes: Array.from(all.slice(dataOffset, size === undefined ? undefined : dataOffset + size)) });
      },
    },
    device: {
      createBuffer(descriptor: { size: number; usage: number }) {
        created.push(descriptor);
        return { own: created.length };
      },
      queue: {
        writeBuffer(buffer: unknown, _offset: number, data: ArrayBuffer | ArrayBufferView) {
          const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
          writes.push({ buffer, bytes: Array.from(view) });
        },
      },
    },
    makeUniforms(programUniform: UniformLike[]) {
      backend.made++;
      const values = programUniform.flatMap((d) => Array.from(d.data));
      const bytes = new ArrayBuffer(values.length * 4 + 8);
      new Float32Array(bytes, 8).set(values);
      const buffer = { pool: ++pooled };
      backend.queue.writeBuffer(buffer, 0, bytes, 8, values.length * 4);
      return { offset: 0, size: values.length * 4, buffer };
    },
  };
  return { backend, writes, created };
}

const uniforms = (...values: number[]): UniformLike[] => [
  { type: 'float32', data: [Number.NaN] },
  { type: 'int32', data: values },
];

describe('installUniformCache', () => {
  it('writes each distinct content once, into a buffer of its own, and binds that buffer whenever the content comes again', () => {
    const { backend, writes, created } = fakeBackend();
    const stats = installUniformCache(backend as unknown as UniformBackend);
    const first = backend.makeUniforms(uniforms(4, 5, 6));
    // the bytes the backend wrote to its pool buffer, copied into the cache's buffer
    expect(created).toEqual([{ size: 16, usage: 0x48 }]);
    expect(first).toEqual({ offset: 0, size: 16, buffer: { own: 1 } });
    expect(writes.map((w) => w.buffer)).toEqual([{ pool: 1 }, { own: 1 }]);
    expect(writes[1].bytes).toEqual(writes[0].bytes);
    expect(writes[1].bytes).toEqual(Array.from(new Uint8Array(new Float32Array([Number.NaN, 4, 5, 6]).buffer)));
    // the same content: the same binding, nothing made or written
    expect(backend.makeUniforms(uniforms(4, 5, 6))).toBe(first);
    expect([backend.made, writes.length]).toEqual([1, 2]);
    // another value, or the same numbers under another type: another buffer
    expect(backend.makeUniforms(uniforms(4, 5, 7)).buffer).toEqual({ own: 2 });
    expect(backend.makeUniforms([{ type: 'float32', data: [Number.NaN] }, { type: 'float32', data: [4, 5, 6] }]).buffer).toEqual({ own: 3 });
    expect(stats).toEqual({ lookups: 4, hits: 1, size: 3 });
    // the queue's method is the prototype's again (none of the cache's left on it)
    expect(Object.keys(backend.queue)).toEqual(['writeBuffer']);
    expect(installUniformCache(backend as unknown as UniformBackend)).toBe(stats);
    expect(uniformCacheStats(backend)).toBe(stats);
  });

  it('past its capacity leaves new contents to the backend, every time', () => {
    const { backend, created } = fakeBackend();
    installUniformCache(backend as unknown as UniformBackend, 1);
    backend.makeUniforms(uniforms(1));
    const pooled = backend.makeUniforms(uniforms(2));
    expect(pooled.buffer).toEqual({ pool: 2 });
    expect(backend.makeUniforms(uniforms(2)).buffer).toEqual({ pool: 3 });
    expect(backend.makeUniforms(uniforms(1)).buffer).toEqual({ own: 1 });
    expect(created).toHaveLength(1);
  });
});

describe('the uniform cache on webgpu', () => {
  it('is installed by useBackend, answers every repeated step, and leaves the results exact', async () => {
    await useBackend('webgpu');
    const stats = uniformCacheStats(tf.backend());
    expect(stats).not.toBeNull();
    let afterFirst = { lookups: 0, hits: 0 };
    await runSteadySteps(40, 4, (step) => {
      if (step === 0) afterFirst = { lookups: stats?.lookups ?? 0, hits: stats?.hits ?? 0 };
    });
    // the later steps' uniforms are the first's, content for content
    const later = { lookups: (stats?.lookups ?? 0) - afterFirst.lookups, hits: (stats?.hits ?? 0) - afterFirst.hits };
    expect(later.lookups).toBeGreaterThanOrEqual(3 * 4);
    expect(later.hits).toBe(later.lookups);
  });
});

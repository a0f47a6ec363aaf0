import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type BindGroupCacheStats, type BindGroupDescriptorLike, type BindGroupDevice, type PipelineLike } from './bind-group-cache';
import { bindGroupCacheStats, installBindGroupCache, useBackend } from './index';
import { runSteadySteps } from './steady-steps.test-util';

/** A device whose groups and layouts are fresh objects, as Dawn's are; it counts the groups it makes. */
function fakeDevice(): BindGroupDevice & { made: number; layoutsAsked: number } {
  const device = {
    made: 0,
    layoutsAsked: 0,
    createBindGroup(descriptor: BindGroupDescriptorLike) {
      device.made++;
      return { descriptor };
    },
    createComputePipeline(_descriptor?: unknown): PipelineLike {
      return {
        getBindGroupLayout(index: number) {
          device.layoutsAsked++;
          return { index };
        },
      };
    },
    async createComputePipelineAsync(): Promise<PipelineLike> {
      return device.createComputePipeline(undefined);
    },
  };
  return device;
}

const buffer = () => ({ size: 16 });
const group = (layout: unknown, ...resources: unknown[]) => ({ layout, entries: resources.map((resource, binding) => ({ binding, resource })) });

describe('installBindGroupCache', () => {
  it('hands back the group made for the same layout and buffers, and makes a new one for anything else', async () => {
    const device = fakeDevice();
    const stats = installBindGroupCache(device);
    const pipeline = device.createComputePipeline({});
    const layout = pipeline.getBindGroupLayout(0);
    // the layout is asked of the device once, then kept
    expect(pipeline.getBindGroupLayout(0)).toBe(layout);
    expect(device.layoutsAsked).toBe(1);
    const [a, b, uniforms] = [buffer(), buffer(), buffer()];
    const first = device.createBindGroup(group(layout, { buffer: a }, { buffer: b }, { buffer: uniforms, offset: 0, size: 48 }));
    expect(device.createBindGroup(group(layout, { buffer: a }, { buffer: b }, { buffer: uniforms, offset: 0, size: 48 }))).toBe(first);
    expect(device.made).toBe(1);
    // another buffer, binding order, uniform size or layout: another group
    const others = [
      group(layout, { buffer: a }, { buffer: buffer() }, { buffer: uniforms, offset: 0, size: 48 }),
      group(layout, { buffer: b }, { buffer: a }, { buffer: uniforms, offset: 0, size: 48 }),
      group(layout, { buffer: a }, { buffer: b }, { buffer: uniforms, offset: 0, size: 32 }),
      group(pipeline.getBindGroupLayout(1), { buffer: a }, { buffer: b }, { buffer: uniforms, offset: 0, size: 48 }),
    ];
    for (const d of others) expect(device.createBindGroup(d)).not.toBe(first);
    expect(device.made).toBe(5);
    // a texture view is not a buffer binding: never cached
    const view = { label: 'texture view' };
    expect(device.createBindGroup(group(layout, view))).not.toBe(device.createBindGroup(group(layout, view)));
    expect(device.made).toBe(7);
    expect(stats).toEqual({ lookups: 8, hits: 1, size: 5 });
    // installed once: a second call returns the same statistics and wraps nothing again
    expect(installBindGroupCache(device)).toBe(stats);
    expect(bindGroupCacheStats(device)).toBe(stats);
    expect(bindGroupCacheStats({})).toBeNull();
    // pipelines made asynchronously keep their layouts too
    const later = await device.createComputePipelineAsync?.({});
    expect(later?.getBindGroupLayout(0)).toBe(later?.getBindGroupLayout(0));
  });

  it('keeps the most recently used groups up to its capacity', () => {
    const device = fakeDevice();
    installBindGroupCache(device, 2);
    const layout = {};
    const [a, b, c] = [buffer(), buffer(), buffer()];
    const ga = device.createBindGroup(group(layout, { buffer: a }));
    const gb = device.createBindGroup(group(layout, { buffer: b }));
    // a used again, so b is the least recently used when c comes in
    expect(device.createBindGroup(group(layout, { buffer: a }))).toBe(ga);
    device.createBindGroup(group(layout, { buffer: c }));
    expect(device.createBindGroup(group(layout, { buffer: a }))).toBe(ga);
    expect(device.createBindGroup(group(layout, { buffer: b }))).not.toBe(gb);
    expect(device.made).toBe(4);
  });
});

describe('the bind group cache on webgpu', () => {
  it('is installed by useBackend, reused across identical steps, and leaves their results exact', async () => {
    await useBackend('webgpu');
    const stats = bindGroupCacheStats((tf.backend() as unknown as { device: object }).device);
    expect(stats).not.toBeNull();
    let atThird: BindGroupCacheStats | undefined;
    await runSteadySteps(48, 6, (step) => {
      if (step === 1) atThird = { ...(stats as BindGroupCacheStats) };
    });
    // from the third step on, every dispatch binds the buffers one of the first two bound (tfjs's
    // buffer manager hands them out in the same order): every group comes from the cache
    const later = { lookups: (stats?.lookups ?? 0) - (atThird?.lookups ?? 0), hits: (stats?.hits ?? 0) - (atThird?.hits ?? 0) };
    expect(later.lookups).toBeGreaterThanOrEqual(4 * 3);
    expect(later.hits).toBe(later.lookups);
  });
});

/**
 * tfjs-backend-webgpu makes a new bind group for every dispatch (`createBindGroup`, ~30 us of host
 * time each in Dawn, a quarter to a third of a dispatch's) and asks the pipeline for its layout
 * each time (a new object per call). In a steady loop (a head's passes, a training step) the
 * buffer manager hands the same buffers out in the same order, so most dispatches bind exactly the
 * buffers an earlier dispatch of the same pipeline bound: the same bind group, which is immutable
 * and may be bound again. This cache returns it.
 *
 * Safe by construction: a group is reused only for the same layout object and, binding by binding,
 * the same buffer objects with the same offset and size, all of which the caller is binding now
 * (so none is destroyed). Groups holding a texture view are not cached. A destroyed buffer's group
 * only waits in the cache to be evicted (tfjs destroys buffers explicitly; a cached group keeps no
 * GPU memory alive past a destroy()).
 */

/** What this module touches of a GPUDevice (structural, so that tests can pass a fake). */
export interface BindGroupDevice {
  createBindGroup(descriptor: BindGroupDescriptorLike): unknown;
  createComputePipeline(descriptor: unknown): PipelineLike;
  createComputePipelineAsync?(descriptor: unknown): Promise<PipelineLike>;
}

export interface PipelineLike {
  getBindGroupLayout(index: number): unknown;
}

export interface BindGroupDescriptorLike {
  layout: unknown;
  entries: Iterable<{ binding: number; resource: unknown }>;
}

export interface BindGroupCacheStats {
  /** createBindGroup calls since the cache was installed */
  lookups: number;
  /** of which answered from the cache */
  hits: number;
  /** groups held */
  size: number;
}

/** Groups kept: a D8 head's pass binds ~200, a training step a few hundred more. */
export const BIND_GROUP_CACHE_CAPACITY = 4096;

const installed = new WeakMap<object, BindGroupCacheStats>();

/** Object identities as small numbers, for the cache's keys (weakly held). */
class Identities {
  private readonly ids = new WeakMap<object, number>();
  private next = 1;

  of(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(o, id);
    }
    return id;
  }
}

/** A buffer binding's key part, or null for what is not cached (a texture view, a sampler). */
function bufferBinding(ids: Identities, entry: { binding: number; resource: unknown }): string | null {
  const r = entry.resource as { buffer?: unknown; offset?: number; size?: number } | null;
  if (!r || typeof r !== 'object' || !r.buffer || typeof r.buffer !== 'object') return null;
  return `${entry.binding}:${ids.of(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
}

/** The pipeline with its bind group layouts asked once each: the same layout object every time. */
function withStableLayouts<P extends PipelineLike>(pipeline: P): P {
  const ask = pipeline.getBindGroupLayout.bind(pipeline);
  const layouts = new Map<number, unknown>();
  pipeline.getBindGroupLayout = (index: number) => {
    if (!layouts.has(index)) layouts.set(index, ask(index));
    return layouts.get(index);
  };
  return pipeline;
}

/**
 * Installs the cache on `device` (once; later calls return the same statistics): its
 * createBindGroup answers from the cache where it can, and the pipelines it creates from now on
 * keep their layouts. Install before the backend compiles its first program: a pipeline made
 * earlier hands out a new layout each call, so its groups are never found again.
 */
export function installBindGroupCache(device: BindGroupDevice, capacity = BIND_GROUP_CACHE_CAPACITY): BindGroupCacheStats {
  const existing = installed.get(device);
  if (existing) return existing;
  const stats: BindGroupCacheStats = { lookups: 0, hits: 0, size: 0 };
  installed.set(device, stats);
  const ids = new Identities();
  const groups = new Map<string, unknown>();
  const create = device.createBindGroup.bind(device);
  device.createBindGroup = (descriptor: BindGroupDescriptorLike) => {
    stats.lookups++;
    const parts = [String(ids.of(descriptor.layout as object))];
    for (const entry of descriptor.entries) {
      const part = bufferBinding(ids, entry);
      if (part === null) return create(descriptor);
      parts.push(part);
    }
    const key = parts.join('|');
    const found = groups.get(key);
    if (found !== undefined) {
      stats.hits++;
      // re-inserted: a Map iterates in insertion order, so the first key is the least recently used
      groups.delete(key);
      groups.set(key, found);
      return found;
    }
    const group = create(descriptor);
    groups.set(key, group);
    if (groups.size > capacity) groups.delete(groups.keys().next().value as string);
    stats.size = groups.size;
    return group;
  };
  const createPipeline = device.createComputePipeline.bind(device);
  device.createComputePipeline = (descriptor: unknown) => withStableLayouts(createPipeline(descriptor));
  const createPipelineAsync = device.createComputePipelineAsync?.bind(device);
  if (createPipelineAsync) device.createComputePipelineAsync = async (descriptor: unknown) => withStableLayouts(await createPipelineAsync(descriptor));
  return stats;
}

/** The cache's statistics on `device`, or null where none is installed. */
export function bindGroupCacheStats(device: object): BindGroupCacheStats | null {
  return installed.get(device) ?? null;
}

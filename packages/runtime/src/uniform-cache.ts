/**
 * tfjs-backend-webgpu writes every dispatch's uniforms (NaN, Infinity, its tensors' shapes and
 * strides, the program's own values) into a buffer taken from its pool, then returns the buffer to
 * the pool after the next submit. In a steady loop the same program runs on the same shapes with
 * the same values pass after pass, so the bytes repeat. This cache keeps one buffer per distinct
 * content, written once and never again: a dispatch whose uniforms were seen before binds that
 * buffer (no pool traffic, no `queue.writeBuffer`), and its bind group, now made of the same
 * buffers every pass, is found by the bind group cache.
 *
 * Never rewritten, so a buffer bound by work still in flight cannot change under it; never
 * destroyed while the backend lives (small: a D8 head's pass has ~200 distinct contents, under 256
 * bytes each), and past `capacity` contents the backend's own path is taken.
 */

/** One uniform as tfjs-backend-webgpu hands it to `makeUniforms`. */
export interface UniformLike {
  type: string;
  data: ArrayLike<number>;
}

export interface UniformBinding {
  offset: number;
  size: number;
  buffer: unknown;
}

/** The part of tfjs-backend-webgpu's WebGPUBackend (4.x) this module touches. */
export interface UniformBackend {
  makeUniforms(programUniform: UniformLike[]): UniformBinding;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBuffer | ArrayBufferView, dataOffset?: number, size?: number): void };
  device: { createBuffer(descriptor: { size: number; usage: number }): unknown; queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBuffer | ArrayBufferView): void } };
}

export interface UniformCacheStats {
  /** makeUniforms calls since the cache was installed */
  lookups: number;
  /** of which answered with a kept buffer */
  hits: number;
  /** buffers kept */
  size: number;
}

export const UNIFORM_CACHE_CAPACITY = 4096;

// GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM (constants of the WebGPU spec)
const UNIFORM_USAGE = 0x0008 | 0x0040;

const installed = new WeakMap<object, UniformCacheStats>();

/** The uniforms' content as a key: every value with its type, in order (NaN and Infinity included). */
function contentKey(programUniform: UniformLike[]): string {
  let key = '';
  for (const d of programUniform) key += `${d.type[0]}${Array.prototype.join.call(d.data, ',')};`;
  return key;
}

/**
 * Installs the cache on a tfjs WebGPU backend (once; later calls return the same statistics). The
 * layout of the bytes stays tfjs's: a content seen for the first time goes through the backend's
 * own makeUniforms, whose write is read back from its call, and the bytes are copied into a buffer
 * of the cache's.
 */
export function installUniformCache(backend: UniformBackend, capacity = UNIFORM_CACHE_CAPACITY): UniformCacheStats {
  const existing = installed.get(backend);
  if (existing) return existing;
  const stats: UniformCacheStats = { lookups: 0, hits: 0, size: 0 };
  installed.set(backend, stats);
  const kept = new Map<string, UniformBinding>();
  const make = backend.makeUniforms.bind(backend);
  backend.makeUniforms = (programUniform: UniformLike[]) => {
    stats.lookups++;
    const key = contentKey(programUniform);
    const found = kept.get(key);
    if (found) {
      stats.hits++;
      return found;
    }
    if (kept.size >= capacity) return make(programUniform);
    // the backend lays the bytes out and writes them to a pool buffer (returned to the pool as usual)
    let bytes: Uint8Array | undefined;
    const queue = backend.queue;
    const write = queue.writeBuffer;
    const ownMethod = Object.prototype.hasOwnProperty.call(queue, 'writeBuffer');
    queue.writeBuffer = (buffer, offset, data, dataOffset = 0, size?: number) => {
      const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
      bytes = view.slice(dataOffset, size === undefined ? undefined : dataOffset + size);
      return write.call(queue, buffer, offset, data, dataOffset, size);
    };
    let binding: UniformBinding;
    try {
      binding = make(programUniform);
    } finally {
      if (ownMethod) queue.writeBuffer = write;
      else delete (queue as { writeBuffer?: unknown }).writeBuffer;
    }
    if (!bytes || binding.offset !== 0 || bytes.byteLength !== binding.size) return binding;
    const buffer = backend.device.createBuffer({ size: binding.size, usage: UNIFORM_USAGE });
    backend.device.queue.writeBuffer(buffer, 0, bytes);
    const own = { offset: 0, size: binding.size, buffer };
    kept.set(key, own);
    stats.size = kept.size;
    return own;
  };
  return stats;
}

/** The cache's statistics on `backend`, or null where none is installed. */
export function uniformCacheStats(backend: object): UniformCacheStats | null {
  return installed.get(backend) ?? null;
}

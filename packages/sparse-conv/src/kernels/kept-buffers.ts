import type * as tf from '@tensorflow/tfjs-core';
import { PackVectorsProgram } from './pack-vectors-program';
import { type WebGPUBackendLike, runProgram } from './webgpu-backend';

/**
 * Small GPU buffers a backend keeps across passes, made once per key (and `sources`: the data they
 * were made from, compared on each use) outside tfjs's tensor count, so that a head's inference
 * leaves no tensor behind; the least recently used of more than `limit` are disposed.
 */
class KeptBuffers<K> {
  private readonly byBackend = new WeakMap<WebGPUBackendLike, Map<K, { sources: unknown[]; info: tf.TensorInfo }>>();

  constructor(private readonly limit: number) {}

  get(be: WebGPUBackendLike, key: K, make: () => tf.TensorInfo, sources: unknown[] = []): tf.TensorInfo {
    const cache = this.byBackend.get(be) ?? new Map<K, { sources: unknown[]; info: tf.TensorInfo }>();
    this.byBackend.set(be, cache);
    let entry = cache.get(key);
    if (entry && !entry.sources.every((s, i) => s === sources[i])) {
      be.disposeData(entry.info.dataId);
      entry = undefined;
    }
    entry ??= { sources, info: make() };
    // re-inserted: a Map iterates in insertion order, so the first key is the least recently used
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > this.limit) {
      const [oldest, old] = cache.entries().next().value as [K, { info: tf.TensorInfo }];
      cache.delete(oldest);
      be.disposeData(old.info.dataId);
    }
    return entry.info;
  }
}

/** Gate sums' unit lists: a head's pass uses one or two (an upload per pass would end tfjs's compute pass for a staging copy). */
const keptUnits = new KeptBuffers<string>(16);

export function cachedUnits(be: WebGPUBackendLike, units: number[]): tf.TensorInfo {
  return keptUnits.get(be, units.join(','), () => be.makeTensorInfo([units.length], 'float32', Float32Array.from(units)));
}

/**
 * Small weights packed into one buffer (PackVectorsProgram) for programs with no binding left for
 * each, keyed by the first one's data (a D8 head packs 16 sets of path biases, and on GPUs 16 of
 * the paths' norms).
 */
const keptPacks = new KeptBuffers<tf.DataId>(512);

/**
 * Two towers' weights packed for the programs that run a block of each at once: kept apart from
 * keptPacks, whose packs of one tower begin with the same weights.
 */
export const keptTowerPacks = new KeptBuffers<tf.DataId>(512);

export function cachedPack(be: WebGPUBackendLike, vectors: tf.TensorInfo[], total?: number, kept = keptPacks): tf.TensorInfo {
  const ids = vectors.map((v) => v.dataId);
  const sizes = vectors.map((v) => v.shape.reduce((a, d) => a * d, 1));
  // a weight's update gives it new data, so a new buffer; the padded length is part of what was made
  return kept.get(be, ids[0], () => runProgram(be, new PackVectorsProgram(sizes, total), vectors, 'float32'), [...ids, total]);
}

const startsByBackend = new WeakMap<WebGPUBackendLike, Map<string, tf.TensorInfo>>();

/**
 * The GPU copy of `starts`, uploaded once per backend and kept: a D8 pass runs ~350 GroupNorms over
 * a handful of distinct starts, and each upload of a reused buffer ends tfjs's compute pass for a
 * staging copy. Never disposed: a few int32s per distinct map size.
 */
export function rowStarts(be: WebGPUBackendLike, starts: number[]): tf.TensorInfo {
  const cache = startsByBackend.get(be) ?? new Map<string, tf.TensorInfo>();
  startsByBackend.set(be, cache);
  const key = starts.join(',');
  const info = cache.get(key) ?? be.makeTensorInfo([starts.length], 'int32', Int32Array.from(starts));
  cache.set(key, info);
  return info;
}

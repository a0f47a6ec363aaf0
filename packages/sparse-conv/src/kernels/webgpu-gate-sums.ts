import type * as tf from '@tensorflow/tfjs-core';
import { gateSumsChunks, GateSumsCombineProgram, GateSumsProgram, type GateSumsTerm } from './gate-sums-program';
import type { GateSumsAttrs } from './kernel-names';
import { type PyramidLayout, pyramidRows, sameLayout } from '../pyramid';
import { type WebGPUBackendLike, runProgram } from './webgpu-backend';
import { cachedUnits } from './kept-buffers';
import { deviceTuning } from './webgpu-tuning';

/** Partial sums a gate sums combine takes: with Units and its output, a stage's 8 storage buffers. */
export const GATE_SUMS_COMBINE_PARTS = 6;
/** Maps one partial gate sums program binds: with its output, a stage's 8 storage buffers. */
const GATE_SUMS_PART_MAPS = 7;
/** Maps the one-pass gate sums program binds, beside Units and its output. */
const GATE_SUMS_ONE_PASS_MAPS = 6;

/**
 * GATE_SUMS's charges in parts of at most GATE_SUMS_PART_MAPS bound maps, in the order of the maps'
 * first charges: a map charged twice (a depth node's gate, plain and pooled) is bound once, and its
 * terms go to its part, with their units. A single part binds at most GATE_SUMS_ONE_PASS_MAPS, so
 * that the one-pass program can take it with Units.
 */
export function gateSumsParts(gates: tf.TensorInfo[], layouts: (PyramidLayout | null)[], pooled: number[], units: number[]): GateSumsPart[] {
  // the same data read the same way: a map's layout is part of how it is read
  const sameRead = (f: number, j: number) => {
    const [a, b] = [layouts[f], layouts[j]];
    return gates[f].dataId === gates[j].dataId && gates[f].shape.join(',') === gates[j].shape.join(',') && (a === b || (a !== null && b !== null && sameLayout(a, b)));
  };
  const firsts: number[] = [];
  const mapOf = gates.map((_, j) => {
    const m = firsts.findIndex((f) => sameRead(f, j));
    if (m >= 0) return m;
    firsts.push(j);
    return firsts.length - 1;
  });
  const limit = firsts.length <= GATE_SUMS_ONE_PASS_MAPS ? GATE_SUMS_ONE_PASS_MAPS : GATE_SUMS_PART_MAPS;
  const parts: GateSumsPart[] = Array.from({ length: Math.ceil(firsts.length / limit) }, (_, i) => {
    const own = firsts.slice(i * limit, (i + 1) * limit);
    return { maps: own.map((j) => gates[j]), pyramids: own.map((j) => layouts[j]), terms: [], units: [] };
  });
  for (const [j, m] of mapOf.entries()) {
    const part = parts[Math.floor(m / limit)];
    part.terms.push({ map: m % limit, pooled: pooled[j] === 1 });
    part.units.push(units[j]);
  }
  return parts;
}

interface GateSumsPart {
  maps: tf.TensorInfo[];
  pyramids: (PyramidLayout | null)[];
  terms: GateSumsTerm[];
  units: number[];
}

/**
 * GATE_SUMS on a webgpu backend: each image's charges of the gate maps, in one program where the
 * maps fit its bindings and an image fits a workgroup, else partial sums per part and chunk, then
 * as few combines as the bindings allow.
 */
export function gateSumsOnGpu(be: WebGPUBackendLike, gates: tf.TensorInfo[], attrs: GateSumsAttrs): tf.TensorInfo {
  const { units, pooled = [], pyramids = [], byColumn = false } = attrs;
  const layouts = gates.map((_, j) => pyramids[j] ?? null);
  const batch = layouts.find((p) => p)?.batch ?? gates[0].shape[0];
  const { gateSumsThreads, gateSumsChunkPixels } = deviceTuning(be);
  // an image's pixels: its plane of every level of the largest map
  const pixels = Math.max(...gates.map((m, j) => (layouts[j] ? pyramidRows(layouts[j]) : m.shape.reduce((a, v) => a * v, 1)) / batch));
  const chunks = gateSumsChunks(pixels, gateSumsChunkPixels);
  const parts = gateSumsParts(gates, layouts, pooled, units);
  if (parts.length === 1 && chunks === 1) {
    const [{ maps, terms, pyramids: partLayouts, units: partUnits }] = parts;
    return runProgram(be, new GateSumsProgram(batch, terms, gateSumsThreads, partLayouts, 1, false, byColumn), [...maps, cachedUnits(be, partUnits)], 'float32');
  }
  const sums = parts.map(({ maps, terms, pyramids: partLayouts, units: partUnits }) => ({ units: partUnits, info: runProgram(be, new GateSumsProgram(batch, terms, gateSumsThreads, partLayouts, chunks, true), maps, 'float32') }));
  // the parts' sums in as few combines as the bindings allow, each after the first adding the one before
  let total: tf.TensorInfo | undefined;
  for (let i = 0; i < sums.length; ) {
    const take = sums.slice(i, i + GATE_SUMS_COMBINE_PARTS - (total ? 1 : 0));
    const last = i + take.length === sums.length;
    const program = new GateSumsCombineProgram(batch, take.map((p) => p.units.length), chunks, total !== undefined, byColumn && last);
    const next = runProgram(be, program, [...take.map((p) => p.info), ...(total ? [total] : []), cachedUnits(be, take.flatMap((p) => p.units))], 'float32');
    if (total) be.disposeData(total.dataId);
    total = next;
    i += take.length;
  }
  for (const { info } of sums) be.disposeData(info.dataId);
  return total as tf.TensorInfo;
}

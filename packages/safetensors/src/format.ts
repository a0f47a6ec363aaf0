/**
 * The safetensors container: 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Pure TypeScript, no tfjs: the same
 * code reads PyTorch state_dicts in Node and in the browser.
 */

import { float16ToFloat32, float32ToFloat16 } from './float16';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A tensor as stored: numbers widened or narrowed to what tfjs holds (float32 or int32). */
export interface StoredTensor {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, StoredTensor>;
}

interface HeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

function decode(entry: HeaderEntry, bytes: Uint8Array, where: string): StoredTensor {
  const [start, end] = entry.data_offsets;
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const width = BYTES[entry.dtype];
  if (end - start !== n * width) {
    throw new SafetensorsError(`${where}: byte range ${start}..${end} holds ${end - start} bytes, shape [${entry.shape}] of ${entry.dtype} needs ${n * width}`);
  }
  // Copy out of the file buffer: offsets need not be aligned, and callers may drop the file.
  const raw = bytes.slice(start, end);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = [...entry.shape];
  switch (entry.dtype) {
    case 'F32':
      return { dtype: 'float32', shape, data: new Float32Array(raw.buffer, raw.byteOffset, n) };
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return { dtype: 'float32', shape, data: out };
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = float16ToFloat32(view.getUint16(i * 2, true));
      return { dtype: 'float32', shape, data: out };
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(i * 2, true) << 16;
      return { dtype: 'float32', shape, data: out };
    }
    case 'I32':
      return { dtype: 'int32', shape, data: new Int32Array(raw.buffer, raw.byteOffset, n) };
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return { dtype: 'int32', shape, data: out };
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      return { dtype: 'int32', shape, data: out };
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return { dtype: 'int32', shape, data: out };
    }
    case 'U8':
      return { dtype: 'int32', shape, data: Int32Array.from(raw) };
    case 'BOOL':
      return { dtype: 'bool', shape, data: raw };
  }
}

/**
 * Parses a safetensors file. `source` (a file name) is put in every error so that a user with
 * many checkpoints knows which one is broken.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.byteLength < 8) throw new SafetensorsError(`${source}: file is ${bytes.byteLength} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength <= 0 || 8 + headerLength > bytes.byteLength) {
    throw new SafetensorsError(`${source}: header length ${headerLength} does not fit in a file of ${bytes.byteLength} bytes (not a safetensors file?)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new SafetensorsError(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const body = bytes.subarray(8 + headerLength);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = value as HeaderEntry;
    const where = `${source}: tensor '${name}'`;
    if (!entry || !(entry.dtype in BYTES)) throw new SafetensorsError(`${where}: unsupported dtype ${JSON.stringify(entry?.dtype)}`);
    if (!Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) throw new SafetensorsError(`${where}: missing shape or data_offsets`);
    if (entry.data_offsets[1] > body.byteLength) throw new SafetensorsError(`${where}: data ends at byte ${entry.data_offsets[1]} but the file holds ${body.byteLength} data bytes (truncated?)`);
    tensors.set(name, decode(entry, body, where));
  }
  return { metadata, tensors };
}

export interface SerializeOptions {
  /** How float32 tensors are stored: F32 (default, exact) or F16 (half the bytes, rounded to nearest even). */
  floats?: 'F32' | 'F16';
}

/** Serialises tensors (float32 as F32 or F16, int32 as I32, bool as BOOL), names sorted, 8-byte aligned header. */
export function serializeSafetensors(
  tensors: Map<string, StoredTensor> | Record<string, StoredTensor>,
  metadata: Record<string, string> = {},
  options: SerializeOptions = {},
): Uint8Array {
  const floats = options.floats ?? 'F32';
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new SafetensorsError(`tensor '${name}': ${t.data.length} values for shape [${t.shape}]`);
    const dtype = t.dtype === 'float32' ? floats : t.dtype === 'int32' ? 'I32' : 'BOOL';
    const size = n * BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  const view = new DataView(out.buffer);
  for (const [, t] of entries) {
    if (t.dtype === 'float32' && floats === 'F16') {
      for (let i = 0; i < t.data.length; i++, at += 2) view.setUint16(at, float32ToFloat16(t.data[i]), true);
      continue;
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

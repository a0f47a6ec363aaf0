import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { float16ToFloat32, float32ToFloat16 } from './float16';
import { SafetensorsError, type StoredTensor, parseSafetensors, serializeSafetensors } from './format';

// A file written by PyTorch's safetensors (the official head's golden tensors).
const GOLDEN = new URL('../../../../shared/golden/fcos-dynhead-d4-c64.safetensors', import.meta.url);

/** A safetensors file from a header object and a body, as the format lays them out. */
function fileOf(header: object, body: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

describe('parseSafetensors', () => {
  it("reads a file PyTorch wrote: metadata, names, shapes and values (Python's struct.unpack as reference)", () => {
    const file = parseSafetensors(new Uint8Array(readFileSync(GOLDEN)), 'd4.safetensors');
    expect(file.metadata.channels).toBe('64');
    expect(file.metadata.blocks).toBe('4');
    expect(file.tensors.size).toBe(552);
    const w = file.tensors.get('param.cls_subnet.0.depth_module.bottleneck.conv1.weight') as StoredTensor;
    expect(w.dtype).toBe('float32');
    expect(w.shape).toEqual([64, 64, 3, 3]);
    expect(Array.from(w.data.subarray(0, 3))).toEqual([-0.02078009396791458, -0.07879938185214996, 0.03077719546854496]);
  });

  it('widens F64, F16, BF16 to float32 and I64, I16, I8, U8 to int32; BOOL stays bytes', () => {
    const body = new Uint8Array(64);
    const v = new DataView(body.buffer);
    v.setFloat64(0, 0.1, true);
    v.setFloat64(8, -3.5, true);
    v.setUint16(16, 0x3555, true); // F16 1/3
    v.setUint16(18, 0xc040, true); // BF16 -3
    v.setBigInt64(24, -5n, true);
    v.setInt16(32, -300, true);
    v.setInt8(34, -7);
    v.setUint8(35, 250);
    v.setUint8(36, 1);
    v.setUint8(37, 0);
    const file = parseSafetensors(
      fileOf(
        {
          f64: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
          f16: { dtype: 'F16', shape: [], data_offsets: [16, 18] },
          bf16: { dtype: 'BF16', shape: [1], data_offsets: [18, 20] },
          i64: { dtype: 'I64', shape: [1], data_offsets: [24, 32] },
          i16: { dtype: 'I16', shape: [1], data_offsets: [32, 34] },
          i8: { dtype: 'I8', shape: [1], data_offsets: [34, 35] },
          u8: { dtype: 'U8', shape: [1], data_offsets: [35, 36] },
          b: { dtype: 'BOOL', shape: [2], data_offsets: [36, 38] },
        },
        body,
      ),
    );
    const values = (name: string) => Array.from(file.tensors.get(name)?.data ?? []);
    expect(values('f64')).toEqual([Math.fround(0.1), -3.5]);
    expect(values('f16')).toEqual([Math.fround(0.333251953125)]);
    expect(values('bf16')).toEqual([-3]);
    expect(values('i64')).toEqual([-5]);
    expect(values('i16')).toEqual([-300]);
    expect(values('i8')).toEqual([-7]);
    expect(values('u8')).toEqual([250]);
    expect(values('b')).toEqual([1, 0]);
    expect(file.tensors.get('f64')?.dtype).toBe('float32');
    expect(file.tensors.get('i64')?.dtype).toBe('int32');
  });

  it('names the file and the tensor at fault', () => {
    const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    expect(() => parseSafetensors(new Uint8Array(5), 'a.safetensors')).toThrow(new SafetensorsError('a.safetensors: file is 5 bytes, too short for a safetensors header'));
    expect(() => parseSafetensors(fileOf(ok, new Uint8Array(8)).subarray(0, 20), 'a.safetensors')).toThrow(/^a\.safetensors: header length \d+ does not fit in a file of 20 bytes/);
    expect(() => parseSafetensors(fileOf(ok, new Uint8Array(4)), 'a.safetensors')).toThrow("a.safetensors: tensor 't': data ends at byte 8 but the file holds 4 data bytes (truncated?)");
    expect(() => parseSafetensors(fileOf({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), 'a.safetensors')).toThrow(
      "a.safetensors: tensor 't': byte range 0..8 holds 8 bytes, shape [3] of F32 needs 12",
    );
    expect(() => parseSafetensors(fileOf({ t: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'a.safetensors')).toThrow(
      "a.safetensors: tensor 't': unsupported dtype \"C64\"",
    );
  });
});

describe('serializeSafetensors', () => {
  it('writes what parseSafetensors reads back exactly (the golden file, re-written)', () => {
    const golden = parseSafetensors(new Uint8Array(readFileSync(GOLDEN)), 'golden');
    const again = parseSafetensors(serializeSafetensors(golden.tensors, golden.metadata), 'again');
    expect(again.metadata).toEqual(golden.metadata);
    expect([...again.tensors.keys()].sort()).toEqual([...golden.tensors.keys()].sort());
    for (const [name, t] of golden.tensors) expect(again.tensors.get(name), name).toEqual(t);
  });

  it('F16 floats: half the bytes, each value the nearest half (ints and bools untouched)', () => {
    const data = Float32Array.from([0.1, -1 / 3, 65519, 1e-5, 70000]);
    const tensors = new Map<string, StoredTensor>([
      ['w', { dtype: 'float32', shape: [5], data }],
      ['n', { dtype: 'int32', shape: [2], data: Int32Array.from([7, -8]) }],
    ]);
    const half = serializeSafetensors(tensors, {}, { floats: 'F16' });
    const full = serializeSafetensors(tensors);
    const header = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))));
    // names sorted: n's 8 bytes first, then w's 5 halves (10 bytes, where F32 takes 20)
    expect(header(half).w).toEqual({ dtype: 'F16', shape: [5], data_offsets: [8, 18] });
    expect(header(full).w).toEqual({ dtype: 'F32', shape: [5], data_offsets: [8, 28] });
    expect(header(half).n.dtype).toBe('I32');
    const back = parseSafetensors(half, 'half');
    expect(Array.from(back.tensors.get('w')?.data ?? [])).toEqual(Array.from(data, (x) => float16ToFloat32(float32ToFloat16(x))));
    expect(Array.from(back.tensors.get('w')?.data ?? []).slice(2)).toEqual([65504, 0.000010013580322265625, Number.POSITIVE_INFINITY]);
    expect(Array.from(back.tensors.get('n')?.data ?? [])).toEqual([7, -8]);
  });
});

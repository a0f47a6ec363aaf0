import type { TensorInfo } from '@tensorflow/tfjs-core';
import { HOST_LOOPS_WASM_BASE64 } from './host-loops.wasm';

/** The exports of host-loops.c; pointers are byte offsets in the backend's heap. */
export interface HostLoopExports {
  gn_stats(x: number, rows: number, c: number, cg: number, bias: number, acc: number): void;
  gn_affine(x: number, rows: number, c: number, mean: number, shift: number, scale: number, beta: number, rowScale: number, relu: number, out: number): void;
  gated_residual(rows: number, idx: number, n: number, gate: number, input: number, total: number, c: number, out: number): void;
  gated_residual_taps(rows: number, idx: number, n: number, gate: number, input: number, batch: number, h: number, w: number, c: number, out: number, k: number, filter: number, z: number, outs: number): void;
  im2col_from_rows(rows: number, rowOf: number, idx: number, n: number, h: number, w: number, c: number, k: number, out: number): void;
  im2col_rows(x: number, idx: number, n: number, h: number, w: number, c: number, k: number, out: number): void;
  scatter_rows(rows: number, idx: number, n: number, c: number, total: number, out: number): void;
  conv3x3_few(x: number, batch: number, h: number, w: number, c: number, k: number, filter: number, z: number, outs: number): void;
  dw3x3_stats(x: number, h: number, w: number, c: number, k: number, filters: number, biases: number, outs: number, acc: number): void;
  dw3x3_gated(x: number, h: number, w: number, c: number, filter: number, bias: number, mean: number, shift: number, scale: number, beta: number, gate: number, out: number): void;
  blend_resized(x: number, batch: number, h: number, w: number, c: number, xw: number, sw: number, a: number, b: number, out: number, k: number, filter: number, z: number, outs: number): void;
}

/** The slice of tfjs-backend-wasm's BackendWasm (and its Emscripten module) used here. */
export interface WasmHeapBackend {
  wasm: { asm: { memory?: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** The SIMD loops bound to one backend's heap, with the heap helpers the kernels need. */
export interface HostLoops {
  fn: HostLoopExports;
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
  /** Byte offset of a tensor's values in the heap. */
  ptr(t: TensorInfo): number;
}

let module: WebAssembly.Module | null | undefined;
const bound = new WeakMap<object, HostLoops | null>();

function compiled(): WebAssembly.Module | null {
  if (module !== undefined) return module;
  try {
    const text = atob(HOST_LOOPS_WASM_BASE64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    // a few KB; a browser that refuses a synchronous compile of this size on its main thread lands in
    // the catch below, and the kernels run their JavaScript loops
    module = new WebAssembly.Module(bytes);
  } catch {
    // no WebAssembly SIMD here (the backend itself then runs without it too)
    module = null;
  }
  return module;
}

/**
 * host-loops.c instantiated over the backend's own memory, or null where that is not possible: a
 * runtime without WebAssembly SIMD, or the threaded wasm build (its memory is shared and the module
 * imports an unshared one). The kernels then run their JavaScript loops.
 */
export function hostLoops(backend: object): HostLoops | null {
  if (bound.has(backend)) return bound.get(backend) ?? null;
  let loops: HostLoops | null = null;
  const b = backend as WasmHeapBackend;
  const memory = b.wasm?.asm?.memory;
  const mod = compiled();
  if (mod && memory instanceof WebAssembly.Memory && !(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)) {
    try {
      const instance = new WebAssembly.Instance(mod, { env: { memory } });
      loops = {
        fn: instance.exports as unknown as HostLoopExports,
        memory,
        malloc: (bytes) => b.wasm._malloc(bytes),
        free: (ptr) => b.wasm._free(ptr),
        ptr: (t) => {
          const entry = b.dataIdMap.get(t.dataId);
          if (!entry) throw new Error('host-loops: tensor has no data on the wasm backend');
          return entry.memoryOffset;
        },
      };
    } catch {
      loops = null;
    }
  }
  bound.set(backend, loops);
  return loops;
}

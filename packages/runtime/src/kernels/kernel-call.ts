import * as tf from '@tensorflow/tfjs-core';

type Attrs = tf.NamedAttrMap;

/**
 * Runs another kernel of the SAME backend on raw TensorInfos, so composed kernels stay on the
 * backend's data (no engine round trip, no tensors for the tape). The caller disposes the result.
 */
export function callKernel(
  kernelName: string,
  backendName: string,
  backend: tf.KernelBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: object = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, backendName);
  if (!kernel) throw new Error(`dynhead runtime: kernel '${kernelName}' is not registered for backend '${backendName}'`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as Attrs });
  if (Array.isArray(out)) throw new Error(`dynhead runtime: kernel '${kernelName}' returned ${out.length} outputs, expected one`);
  return out;
}

/** Frees intermediates made by callKernel (refcounted: a kernel may alias its input's data). */
export function release(backend: tf.KernelBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Synchronous read of a kernel input: fine inside a kernel on cpu and wasm, whose data live in memory. */
export function readValues(backend: tf.KernelBackend, info: tf.TensorInfo): tf.TypedArray {
  return backend.readSync(info.dataId) as tf.TypedArray;
}

/** A new backend tensor holding `values` (works on cpu, wasm and webgpu through KernelBackend.write). */
export function writeOutput(backend: tf.KernelBackend, shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo {
  return { dataId: backend.write(values as tf.backend_util.BackendValues, shape, dtype), shape, dtype };
}

/** Registers `config`, first removing whatever the backend registered under that name; returns what it replaced. */
export function replaceKernel(config: tf.KernelConfig): tf.KernelConfig | undefined {
  const previous = tf.getKernel(config.kernelName, config.backendName);
  if (previous) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
  return previous;
}

/** [sh, sw] from a stride / dilation attribute that may be one number. */
export function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** What the engine passes a kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The named inputs of a kernel call, each checked present. */
export function inputsOf<K extends string>(args: KernelArgs, kernelName: string, ...names: K[]): Record<K, tf.TensorInfo> {
  const out = {} as Record<K, tf.TensorInfo>;
  for (const name of names) {
    const info = args.inputs[name];
    if (!info) throw new Error(`${kernelName}: missing input '${name}'`);
    out[name] = info;
  }
  return out;
}

export function backendOf(args: KernelArgs): tf.KernelBackend {
  return args.backend as tf.KernelBackend;
}

export function attrsOf<A>(args: KernelArgs): A {
  return (args.attrs ?? {}) as unknown as A;
}

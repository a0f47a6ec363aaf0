import * as tf from '@tensorflow/tfjs-core';
import { CONCAT_ROWS, SPLIT_ROWS, type SplitRowsAttrs } from './kernel-names';

/**
 * The part of tfjs-backend-webgpu's WebGPUBackend that encodes a buffer copy as it does its own
 * (`copyBuffer`, uploads): in the backend's command encoder, between compute passes, with the
 * buffers held until the encoder is submitted.
 */
interface CopyingBackend {
  tensorMap: { get(dataId: tf.DataId): { resource: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  uploadToGPU(dataId: tf.DataId): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(source: unknown, sourceOffset: number, destination: unknown, destinationOffset: number, size: number): void };
  commandQueueOwnedIds: WeakSet<tf.DataId>;
}

/** dtypes whose elements are 4 bytes in a tfjs WebGPU buffer */
const fourBytes = new Set<tf.DataType>(['float32', 'int32', 'bool']);

/**
 * x's GPU buffer (uploading values still on the host); null where x lives in a texture (the
 * backend's own kernel then), undefined where x is empty (no buffer, nothing to copy).
 */
function bufferOf(be: CopyingBackend, x: tf.TensorInfo): unknown {
  // an empty tensor has no buffer (WebGPU makes none of size 0), and nothing to copy
  if (tf.util.sizeFromShape(x.shape) === 0) return undefined;
  be.uploadToGPU(x.dataId);
  const resource = be.tensorMap.get(x.dataId)?.resource as { mapAsync?: unknown } | undefined;
  return typeof resource?.mapAsync === 'function' ? resource : null;
}

/** A new tensor of this shape; an empty one holds its (no) values on the host, as WebGPU makes no buffer of size 0. */
function outputTensor(be: CopyingBackend, shape: number[], dtype: tf.DataType): tf.TensorInfo {
  return tf.util.sizeFromShape(shape) === 0 ? be.makeTensorInfo(shape, dtype, new Float32Array(0)) : be.makeTensorInfo(shape, dtype);
}

function copyInto(be: CopyingBackend, source: { info: tf.TensorInfo; buffer: unknown; offset: number }, destination: { info: tf.TensorInfo; offset: number }, bytes: number): void {
  if (bytes === 0) return;
  be.uploadToGPU(destination.info.dataId);
  be.ensureCommandEncoderReady();
  be.endComputePassEncoder();
  be.commandEncoder.copyBufferToBuffer(source.buffer, source.offset, be.tensorMap.get(destination.info.dataId)?.resource, destination.offset, bytes);
  be.commandQueueOwnedIds.add(source.info.dataId);
  be.commandQueueOwnedIds.add(destination.info.dataId);
}

/** The backend's own kernel `name` (where a copy cannot do: a texture, or an 8-byte dtype). */
function builtIn(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, backend: unknown): tf.TensorInfo | tf.TensorInfo[] {
  const kernel = tf.getKernel(name, 'webgpu');
  if (!kernel) throw new Error(`${name} is not registered on webgpu`);
  return kernel.kernelFunc({ inputs, attrs, backend: backend as tf.KernelBackend });
}

function splitRowsKernel(x: tf.TensorInfo, rows: number[], backend: unknown): tf.TensorInfo[] {
  const be = backend as CopyingBackend;
  const rowSize = tf.util.sizeFromShape(x.shape.slice(1));
  const buffer = fourBytes.has(x.dtype) ? bufferOf(be, x) : null;
  if (buffer === null) return builtIn('SplitV', { x }, { numOrSizeSplits: rows, axis: 0 } as unknown as tf.NamedAttrMap, backend) as tf.TensorInfo[];
  let offset = 0;
  return rows.map((n) => {
    const out = outputTensor(be, [n, ...x.shape.slice(1)], x.dtype);
    copyInto(be, { info: x, buffer, offset: offset * rowSize * 4 }, { info: out, offset: 0 }, n * rowSize * 4);
    offset += n;
    return out;
  });
}

function concatRowsKernel(xs: tf.TensorInfo[], backend: unknown): tf.TensorInfo {
  const be = backend as CopyingBackend;
  const rowSize = tf.util.sizeFromShape(xs[0].shape.slice(1));
  const buffers = xs.map((x) => (fourBytes.has(x.dtype) ? bufferOf(be, x) : null));
  // tfjs's Concat takes its inputs as an array
  if (buffers.some((b) => b === null)) return builtIn('Concat', xs as unknown as tf.NamedTensorInfoMap, { axis: 0 }, backend) as tf.TensorInfo;
  const out = outputTensor(be, [xs.reduce((a, x) => a + x.shape[0], 0), ...xs[0].shape.slice(1)], xs[0].dtype);
  let offset = 0;
  xs.forEach((x, i) => {
    copyInto(be, { info: x, buffer: buffers[i], offset: 0 }, { info: out, offset: offset * rowSize * 4 }, x.shape[0] * rowSize * 4);
    offset += x.shape[0];
  });
  return out;
}

export function registerRowCopyKernels(): void {
  tf.registerKernel({
    kernelName: SPLIT_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => splitRowsKernel(inputs.x as tf.TensorInfo, (attrs as unknown as SplitRowsAttrs).rows, backend),
  });
  tf.registerKernel({
    kernelName: CONCAT_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => concatRowsKernel(inputs as unknown as tf.TensorInfo[], backend),
  });
}

import * as tf from '@tensorflow/tfjs-core';
import { CompactConvProgram, CompactIndexProgram, ExpandRowsProgram } from './compact-conv-program';
import { CompactGemmConvProgram, compactGemmApplies } from './compact-gemm-program';
import { COMPACT_CONV, COMPACT_INDEX, EXPAND_ROWS, MASKED_CONV } from './kernel-names';
import { MaskedConvProgram, type WebGPUProgramLike } from './masked-conv-program';

/** The slice of tfjs-backend-webgpu's WebGPUBackend used here (no dependency on the backend package). */
interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgramLike, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

export interface MaskedConvAttrs {
  depthwise: boolean;
}

export function registerWebGPUKernels(): void {
  tf.registerKernel({
    kernelName: MASKED_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, mask } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; mask: tf.TensorInfo };
      const { depthwise } = attrs as unknown as MaskedConvAttrs;
      const outChannels = depthwise ? x.shape[3] : filter.shape[3];
      // a fresh program per call: runWebGPUProgram rewrites the program's shaderKey in place
      const program = new MaskedConvProgram(x.shape, outChannels, filter.shape[0], depthwise);
      return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, [x, filter, mask], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_INDEX,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { mask, pos } = inputs as { mask: tf.TensorInfo; pos: tf.TensorInfo };
      return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(new CompactIndexProgram(mask.shape[0]), [mask, pos], 'int32');
    },
  });
  tf.registerKernel({
    kernelName: COMPACT_CONV,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, filter, indices, count } = inputs as Record<'x' | 'filter' | 'indices' | 'count', tf.TensorInfo>;
      const { depthwise } = attrs as unknown as MaskedConvAttrs;
      const outChannels = depthwise ? x.shape[3] : filter.shape[3];
      const rows = indices.shape[0];
      const program = compactGemmApplies(x.shape[3], outChannels, depthwise)
        ? new CompactGemmConvProgram(rows, outChannels, filter.shape[0])
        : new CompactConvProgram(rows, outChannels, filter.shape[0], depthwise);
      return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, [x, filter, indices, count], 'float32');
    },
  });
  tf.registerKernel({
    kernelName: EXPAND_ROWS,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { rows, mask, pos } = inputs as Record<'rows' | 'mask' | 'pos', tf.TensorInfo>;
      const { outShape } = attrs as unknown as { outShape: number[] };
      return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(new ExpandRowsProgram(outShape), [rows, mask, pos], 'float32');
    },
  });
}

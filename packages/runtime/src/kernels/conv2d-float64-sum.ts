import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, callKernel, inputsOf, type KernelArgs, readValues, release, writeOutput } from './kernel-call';

/**
 * NHWC conv whose every output is its exact sum rounded once to float32 (a float64 accumulator per
 * output pixel; products of two float32 values are exact in float64). tfjs-backend-cpu's Conv2D adds
 * into a Float32Array, rounding after each of the 9 * C terms, so its outputs carry several times
 * the rounding error of XNNPACK's or PyTorch's. That is enough to put a unit on the other side of a
 * ReLU from the PyTorch reference: on the D4 golden file the cpu gradients differed by 4.6e-4 for
 * that reason alone, and are 8e-7 with this kernel. Skipping zero inputs (every post-ReLU map is
 * about half zeros) also makes it about twice as fast as the built-in loop.
 */
function conv2dSum(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  bias?: ArrayLike<number>,
  relu = false,
): tf.TensorInfo {
  const xv = readValues(backend, x);
  const wv = readValues(backend, filter);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = new Float32Array(B * OH * OW * O);
  const acc = new Float64Array(O);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        if (bias) for (let o = 0; o < O; o++) acc[o] = bias[o];
        else acc.fill(0);
        for (let fy = 0; fy < FH; fy++) {
          const y = oy * SH - top + fy * DH;
          if (y < 0 || y >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const xx = ox * SW - left + fx * DW;
            if (xx < 0 || xx >= W) continue;
            const xRow = ((b * H + y) * W + xx) * C;
            const wTap = (fy * FW + fx) * C * O;
            for (let c = 0; c < C; c++) {
              const v = xv[xRow + c];
              if (v === 0) continue; // (a NaN weight still shows wherever its input is non-zero)
              const wRow = wTap + c * O;
              for (let o = 0; o < O; o++) acc[o] += v * wv[wRow + o];
            }
          }
        }
        const at = ((b * OH + oy) * OW + ox) * O;
        if (relu) for (let o = 0; o < O; o++) out[at + o] = acc[o] > 0 ? acc[o] : 0;
        else out.set(acc, at);
      }
    }
  }
  return writeOutput(backend, [B, OH, OW, O], 'float32', out);
}

function convInfo(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.Conv2DAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** Conv2D on cpu; NCHW (which nothing in dynhead uses) stays with the built-in kernel. */
export function conv2dFloat64SumConfig(builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Conv2D,
    backendName: 'cpu',
    kernelFunc: (args: KernelArgs) => {
      const attrs = attrsOf<tf.Conv2DAttrs>(args);
      const { x, filter } = inputsOf(args, tf.Conv2D, 'x', 'filter');
      if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32') return builtin.kernelFunc(args);
      return conv2dSum(backendOf(args), x, filter, convInfo(x, filter, attrs));
    },
  };
}

/** The activation kernels FusedConv2D may apply after the bias. */
const ACTIVATION_KERNELS: Partial<Record<string, string>> = {
  relu: 'Relu',
  relu6: 'Relu6',
  elu: 'Elu',
  sigmoid: 'Sigmoid',
  leakyrelu: 'LeakyRelu',
  prelu: 'Prelu',
};

/**
 * FusedConv2D on cpu through the same sum, so fused and plain convs round alike. A per-channel
 * bias starts the accumulator and ReLU is applied in place; other biases and activations run as
 * the backend's own kernels afterwards.
 */
export function fusedConv2dFloat64SumConfig(builtin: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.FusedConv2D,
    backendName: 'cpu',
    kernelFunc: (args: KernelArgs) => {
      const attrs = attrsOf<tf.FusedConv2DAttrs>(args);
      const { x, filter } = inputsOf(args, tf.FusedConv2D, 'x', 'filter');
      const activation = attrs.activation ?? 'linear';
      const activationKernel = ACTIVATION_KERNELS[activation];
      if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32' || (activation !== 'linear' && !activationKernel)) return builtin.kernelFunc(args);
      const backend = backendOf(args);
      const info = convInfo(x, filter, attrs);
      const bias = args.inputs.bias;
      const channelBias = bias !== undefined && bias.shape.length === 1 && bias.shape[0] === info.outChannels;
      const inline = activation === 'relu' && (bias === undefined || channelBias);
      let y = conv2dSum(backend, x, filter, info, channelBias ? readValues(backend, bias) : undefined, inline);
      if (bias !== undefined && !channelBias) {
        const biased = callKernel('Add', 'cpu', backend, { a: y, b: bias });
        release(backend, y);
        y = biased;
      }
      if (!inline && activationKernel) {
        const inputs: tf.NamedTensorInfoMap = { x: y };
        if (activation === 'prelu') {
          const alpha = args.inputs.preluActivationWeights;
          if (!alpha) throw new Error('FusedConv2D: activation prelu needs the preluActivationWeights input');
          inputs.alpha = alpha;
        }
        const activated = callKernel(activationKernel, 'cpu', backend, inputs, activation === 'leakyrelu' ? { alpha: attrs.leakyreluAlpha } : {});
        release(backend, y);
        y = activated;
      }
      return y;
    },
  };
}

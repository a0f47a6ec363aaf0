import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from './kernel-call';

/**
 * webgpu: the sum of the squares of every value of up to SUM_OF_SQUARES_MAX_INPUTS tensors (inputs
 * x0, x1, ...) -> [1, 1], in one dispatch where `tf.sum(tf.square(x))` takes two a tensor: SGD's
 * gradient norm over a BCCD model's 175 gradients, 350 dispatches -> 25. One workgroup adds it
 * all, as tfjs's own reduction of a whole tensor does.
 */
export const SUM_OF_SQUARES = 'DynheadSumOfSquares';

/** Storage buffers a WGSL stage may bind (8), less the output's. */
export const SUM_OF_SQUARES_MAX_INPUTS = 7;

const THREADS = 256;

/** The slice of tfjs-backend-webgpu's backend used here (no dependency on the package). */
interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, programUniforms?: { type: string; data: number[] }[]): tf.TensorInfo;
}

class SumOfSquaresProgram {
  variableNames: string[];
  // [1, 1] with a y axis: a layout with only x would make tfjs declare main(index) for a flat dispatch
  outputShape = [1, 1];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number] = [1, 1, 1];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  uniforms: string;

  constructor(count: number) {
    this.variableNames = Array.from({ length: count }, (_, j) => `X${j}`);
    this.uniforms = this.variableNames.map((_, j) => `n${j} : i32,`).join(' ');
    this.shaderKey = `dynheadSumOfSquares_${count}`;
  }

  getUserCode(): string {
    const loops = this.variableNames.map(
      (name, j) => `for (var i = t; i < uniforms.n${j}; i += ${THREADS}) {
    let v = ${name}[i];
    s += v * v;
  }`,
    );
    return `
var<workgroup> partial : array<f32, ${THREADS}>;

fn main() {
  let t = i32(localId.x);
  var s = 0.0;
  ${loops.join('\n  ')}
  partial[t] = s;
  workgroupBarrier();
  for (var half = ${THREADS / 2}; half > 0; half /= 2) {
    if (t < half) {
      partial[t] += partial[t + half];
    }
    workgroupBarrier();
  }
  if (t == 0) {
    setOutputAtIndex(0, partial[0]);
  }
}
`;
  }
}

function sumOfSquaresOnWebGPU(args: KernelArgs): tf.TensorInfo {
  const inputs: tf.TensorInfo[] = [];
  for (let j = 0; args.inputs[`x${j}`]; j++) inputs.push(args.inputs[`x${j}`] as tf.TensorInfo);
  if (inputs.length === 0 || inputs.length > SUM_OF_SQUARES_MAX_INPUTS || inputs.length !== Object.keys(args.inputs).length) {
    throw new Error(`${SUM_OF_SQUARES}: takes inputs x0 .. x${SUM_OF_SQUARES_MAX_INPUTS - 1} in order, got ${Object.keys(args.inputs).join(', ') || 'none'}`);
  }
  const bad = inputs.find((x) => x.dtype !== 'float32');
  if (bad) throw new Error(`${SUM_OF_SQUARES}: inputs must be float32, got ${bad.dtype} [${bad.shape.join(',')}]`);
  const uniforms = inputs.map((x) => ({ type: 'int32', data: [tf.util.sizeFromShape(x.shape)] }));
  return (args.backend as unknown as WebGPUBackendLike).runWebGPUProgram(new SumOfSquaresProgram(inputs.length), inputs, 'float32', uniforms);
}

export function sumOfSquaresConfig(): tf.KernelConfig {
  return { kernelName: SUM_OF_SQUARES, backendName: 'webgpu', kernelFunc: sumOfSquaresOnWebGPU };
}

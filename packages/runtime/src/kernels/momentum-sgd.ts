import * as tf from '@tensorflow/tfjs-core';
import { attrsOf, backendOf, type KernelArgs, readValues, writeOutput } from './kernel-call';

/**
 * One parameter's update of SGD with momentum as torch.optim.SGD takes it (dampening 0, no
 * Nesterov), in one kernel where tfjs ops took six or seven a parameter (a BCCD training step: 175
 * parameters, 1290 of its kernels): inputs param, grad and (after the first step) buffer ->
 * [param', buffer'] with
 *   g = grad * gradScale + weightDecay * param;  buffer' = momentum * buffer + g (g on the first step);
 *   param' = param - lr * buffer'.
 * Each product and sum is rounded to float32 in the order of those ops, so on cpu and wasm the
 * result equals theirs bit for bit. `@dynhead/detectors`' MomentumSgd calls it where registered.
 */
export const MOMENTUM_SGD = 'DynheadMomentumSgd';

export interface MomentumSgdAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** the gradient clipping's factor; 1: none */
  gradScale: number;
}

/** Named inputs: param, grad, and buffer once there is one. */
function sgdInputs(args: KernelArgs): { param: tf.TensorInfo; grad: tf.TensorInfo; buffer?: tf.TensorInfo } {
  const { param, grad, buffer } = args.inputs;
  if (!param || !grad) throw new Error(`${MOMENTUM_SGD}: needs inputs 'param' and 'grad'`);
  for (const [name, t] of [['grad', grad], ['buffer', buffer]] as const) {
    if (t && !tf.util.arraysEqual(t.shape, param.shape)) {
      throw new Error(`${MOMENTUM_SGD}: ${name} [${t.shape.join(',')}] must have param's shape [${param.shape.join(',')}]`);
    }
  }
  return { param, grad, buffer };
}

/** cpu and wasm: the update as a loop, every step rounded to float32 as its op would round it. */
function momentumSgdOnHost(args: KernelArgs): tf.TensorInfo[] {
  const { param, grad, buffer } = sgdInputs(args);
  const a = attrsOf<MomentumSgdAttrs>(args);
  const backend = backendOf(args);
  const f = Math.fround;
  // the ops multiply by float32 scalars
  const [lr, momentum, decay, scale] = [f(a.lr), f(a.momentum), f(a.weightDecay), f(a.gradScale)];
  const p = readValues(backend, param);
  const g = readValues(backend, grad);
  const buf = buffer ? readValues(backend, buffer) : null;
  const nextP = new Float32Array(p.length);
  const nextBuf = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    let d = scale === 1 ? g[i] : f(g[i] * scale);
    if (decay !== 0) d = f(d + f(p[i] * decay));
    const b = buf ? f(f(buf[i] * momentum) + d) : d;
    nextBuf[i] = b;
    nextP[i] = f(p[i] - f(b * lr));
  }
  return [writeOutput(backend, param.shape, 'float32', nextP), writeOutput(backend, param.shape, 'float32', nextBuf)];
}

/** The slice of tfjs-backend-webgpu's backend used here (no dependency on the package). */
interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, programUniforms?: { type: string; data: number[] }[]): tf.TensorInfo;
}

/**
 * webgpu: buffer' (`output` 'buffer') or param' ('param') as a thread per element; the param
 * program computes buffer' again rather than read it, so the two run side by side.
 */
class MomentumSgdProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'lr : f32, momentum : f32, decay : f32, scale : f32,';
  size = true;

  constructor(
    shape: number[],
    private readonly output: 'param' | 'buffer',
    private readonly withBuffer: boolean,
  ) {
    this.variableNames = withBuffer ? ['P', 'G', 'Buf'] : ['P', 'G'];
    this.outputShape = shape;
    this.shaderKey = `dynheadMomentumSgd_${output}_${withBuffer}`;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(shape) / 64), 1, 1];
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let p = P[index];
    let d = G[index] * uniforms.scale + p * uniforms.decay;
    let b = ${this.withBuffer ? 'Buf[index] * uniforms.momentum + d' : 'd'};
    setOutputAtIndex(index, ${this.output === 'param' ? 'p - b * uniforms.lr' : 'b'});
  }
}
`;
  }
}

function momentumSgdOnWebGPU(args: KernelArgs): tf.TensorInfo[] {
  const { param, grad, buffer } = sgdInputs(args);
  const a = attrsOf<MomentumSgdAttrs>(args);
  const backend = args.backend as unknown as WebGPUBackendLike;
  const uniforms = [a.lr, a.momentum, a.weightDecay, a.gradScale].map((v) => ({ type: 'float32', data: [v] }));
  const inputs = buffer ? [param, grad, buffer] : [param, grad];
  const run = (output: 'param' | 'buffer') => backend.runWebGPUProgram(new MomentumSgdProgram(param.shape, output, buffer !== undefined), inputs, 'float32', uniforms);
  return [run('param'), run('buffer')];
}

export function momentumSgdConfig(backendName: string): tf.KernelConfig {
  return { kernelName: MOMENTUM_SGD, backendName, kernelFunc: backendName === 'webgpu' ? momentumSgdOnWebGPU : momentumSgdOnHost };
}

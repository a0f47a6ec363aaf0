import * as tf from '@tensorflow/tfjs-core';

/** GeReTanH's inference form as one kernel (webgpu): one pass over the map instead of seven ops. */
export const GE_RETANH = 'DynheadGeReTanH';
/**
 * Its gradient (webgpu): dy and the input v -> dy * (1 - tanh^2(v - tau)) / (1 + tanh tau) where
 * v > 0, else 0, in one pass instead of five ops; with GE_RETANH forward, a training gate's
 * activation is 2 dispatches where the ops took 12.
 */
export const GE_RETANH_GRAD = 'DynheadGeReTanHGrad';

interface GeReTanHAttrs {
  tau: number;
}

/** The fields of tfjs-backend-webgpu's WebGPUProgram filled here (the backend is not a dependency). */
interface ElementwiseProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

interface WebGPUBackendLike {
  runWebGPUProgram(program: ElementwiseProgram, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

/** A float32 constant written so that WGSL parses the same float32 the ops path uses. */
function f32Literal(v: number): string {
  return Math.fround(v).toPrecision(9);
}

/**
 * WGSL declaring `fn gateActivation(v : f32) -> f32`: max(0, (tanh(v - tau) + tanh(tau)) / (1 +
 * tanh(tau))) where v > 0, exact 0 elsewhere; tanh as tfjs-backend-webgpu writes it, and the same
 * float32 steps as the ops, so both paths agree. A conv's program may append it to its output.
 */
export function geReTanHWgsl(tau: number): string {
  const tanhTau = Math.tanh(tau);
  return `${shiftedTanhWgsl(tau)}

fn gateActivation(v : f32) -> f32 {
  if (!(v > 0.0)) {
    return 0.0;
  }
  return max(0.0, (shiftedTanh(v) + ${f32Literal(tanhTau)}) * ${f32Literal(1 / (1 + tanhTau))});
}`;
}

/** WGSL: `fn shiftedTanh(v : f32) -> f32`, tanh(v - tau) as tfjs-backend-webgpu's Tanh computes it. */
function shiftedTanhWgsl(tau: number): string {
  return `fn shiftedTanh(v : f32) -> f32 {
  let a = v - ${f32Literal(tau)};
  let e2x = exp(-2.0 * abs(a));
  return sign(a) * (1.0 - e2x) / (1.0 + e2x);
}`;
}

/** A program with a thread per element of the output `shape`, 64 a workgroup. */
abstract class PerElementProgram implements ElementwiseProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 64), 1, 1];
  }

  abstract getUserCode(): string;
}

/** GeReTanH of X (+ Bias, one value) over the map, one thread per element. */
class GeReTanHProgram extends PerElementProgram {
  variableNames: string[];
  shaderKey: string;

  constructor(
    shape: number[],
    private readonly tau: number,
    private readonly bias: boolean,
  ) {
    super(shape);
    this.variableNames = bias ? ['X', 'Bias'] : ['X'];
    this.shaderKey = `dynheadGeReTanH_${f32Literal(tau)}_${bias}`;
  }

  getUserCode(): string {
    return `
${geReTanHWgsl(this.tau)}

fn main(index : i32) {
  if (index < uniforms.size) {
    setOutputAtIndex(index, gateActivation(f32(X[index])${this.bias ? ' + Bias[0]' : ''}));
  }
}
`;
  }
}

/** GE_RETANH_GRAD: Dy times the derivative at X, the ops' float32 steps in their order. */
class GeReTanHGradProgram extends PerElementProgram {
  variableNames = ['Dy', 'X'];
  shaderKey: string;

  constructor(
    shape: number[],
    private readonly tau: number,
  ) {
    super(shape);
    this.shaderKey = `dynheadGeReTanHGrad_${f32Literal(tau)}`;
  }

  getUserCode(): string {
    return `
${shiftedTanhWgsl(this.tau)}

fn main(index : i32) {
  if (index < uniforms.size) {
    let v = X[index];
    var slope = 0.0;
    if (v > 0.0) {
      let t = shiftedTanh(v);
      slope = (1.0 - t * t) * ${f32Literal(1 / (1 + Math.tanh(this.tau)))};
    }
    setOutputAtIndex(index, Dy[index] * slope);
  }
}
`;
  }
}

let registered = false;

/** Whether the active backend runs GeReTanH as one kernel (registering it on first use). */
export function hasGeReTanHKernel(): boolean {
  if (!registered) {
    registered = true;
    tf.registerKernel({
      kernelName: GE_RETANH,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const { x, bias } = inputs as { x: tf.TensorInfo; bias?: tf.TensorInfo };
        const { tau } = attrs as unknown as GeReTanHAttrs;
        const program = new GeReTanHProgram(x.shape, tau, bias !== undefined);
        return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, bias ? [x, bias] : [x], 'float32');
      },
    });
    tf.registerKernel({
      kernelName: GE_RETANH_GRAD,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
        const { tau } = attrs as unknown as GeReTanHAttrs;
        return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(new GeReTanHGradProgram(x.shape, tau), [dy, x], 'float32');
      },
    });
  }
  return tf.getKernel(GE_RETANH, tf.getBackend()) !== undefined;
}

/** GeReTanH of x (+ bias, one value) as one kernel; only where hasGeReTanHKernel() (its gradient: geReTanHGradKernel). */
export function geReTanHKernel<T extends tf.Tensor>(x: T, tau: number, bias?: tf.Tensor): T {
  const attrs: GeReTanHAttrs = { tau };
  return tf.engine().runKernel(GE_RETANH, bias ? { x, bias } : { x }, attrs as unknown as tf.NamedAttrMap) as T;
}

/** dy times GeReTanH's derivative at the input x, as one kernel; only where hasGeReTanHKernel(). */
export function geReTanHGradKernel(dy: tf.Tensor, x: tf.Tensor, tau: number): tf.Tensor {
  const attrs: GeReTanHAttrs = { tau };
  return tf.engine().runKernel(GE_RETANH_GRAD, { dy, x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

import * as tf from '@tensorflow/tfjs-core';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  /** Clip the global L2 norm of all gradients to this; 0 = off. */
  clipNorm: number;
}

export const sgdDefaults: SgdOptions = { momentum: 0.9, weightDecay: 1e-4, clipNorm: 0 };

/**
 * The kernel that `@dynhead/runtime` registers on cpu, wasm and webgpu for one parameter's whole
 * update (its name there is MOMENTUM_SGD): one kernel a parameter where the ops below take six or
 * seven, with the same float32 roundings. Without it (another backend set-up) the ops run.
 */
const MOMENTUM_SGD_KERNEL = 'DynheadMomentumSgd';

/**
 * `@dynhead/runtime`'s kernel on webgpu for the sum of the squares of up to 7 tensors (its
 * SUM_OF_SQUARES): the gradient norm in one dispatch per 7 gradients where the ops take two per
 * gradient. cpu and wasm keep the ops, whose rounding their training reproduces.
 */
const SUM_OF_SQUARES_KERNEL = 'DynheadSumOfSquares';
const SUM_OF_SQUARES_MAX_INPUTS = 7;

/** The sum of the squares of every value of `tensors`: [] (ops) or [1, 1] (the kernel). */
function squaredNorm(tensors: tf.Tensor[]): tf.Tensor {
  if (!tf.getKernel(SUM_OF_SQUARES_KERNEL, tf.getBackend())) return tf.addN(tensors.map((g) => tf.sum(tf.square(g))));
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < tensors.length; i += SUM_OF_SQUARES_MAX_INPUTS) {
    const inputs = Object.fromEntries(tensors.slice(i, i + SUM_OF_SQUARES_MAX_INPUTS).map((t, j) => [`x${j}`, t]));
    parts.push(tf.engine().runKernel(SUM_OF_SQUARES_KERNEL, inputs) as tf.Tensor);
  }
  return tf.addN(parts);
}

/**
 * SGD with momentum exactly as torch.optim.SGD (dampening 0, no Nesterov):
 * g' = g + wd * p; buf = momentum * buf + g' (buf = g' on the first step); p -= lr * buf.
 * Weight decay is skipped for the variables named in `noDecay` (norm scales and shifts).
 */
export class MomentumSgd {
  readonly options: SgdOptions;
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(options: Partial<SgdOptions> = {}, private readonly noDecay: (name: string) => boolean = () => false) {
    this.options = { ...sgdDefaults, ...options };
  }

  /** Applies one update; returns the global gradient norm before clipping. */
  async step(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): Promise<number> {
    const { momentum, weightDecay, clipNorm } = this.options;
    const names = [...params.keys()].filter((n) => grads[n] !== undefined);
    const normT = tf.tidy(() => tf.sqrt(squaredNorm(names.map((n) => grads[n]))));
    const gradNorm = (await normT.data())[0];
    normT.dispose();
    const clipScale = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / (gradNorm + 1e-6) : 1;
    if (momentum > 0 && tf.getKernel(MOMENTUM_SGD_KERNEL, tf.getBackend())) {
      this.kernelStep(params, grads, names, lr, clipScale);
      return gradNorm;
    }
    tf.tidy(() => {
      for (const name of names) {
        const p = params.get(name) as tf.Variable;
        let g = clipScale === 1 ? grads[name] : tf.mul(grads[name], clipScale);
        if (weightDecay > 0 && !this.noDecay(name)) g = tf.add(g, tf.mul(p, weightDecay));
        let buf = this.buffers.get(name);
        if (momentum > 0) {
          if (!buf) {
            buf = this.newBuffer(name, g);
          } else {
            buf.assign(tf.add(tf.mul(buf, momentum), g));
          }
          g = buf;
        }
        p.assign(tf.sub(p, tf.mul(g, lr)));
      }
    });
    return gradNorm;
  }

  /** The update through MOMENTUM_SGD_KERNEL: [param', buffer'] of each parameter. */
  private kernelStep(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, names: string[], lr: number, gradScale: number): void {
    const { momentum, weightDecay } = this.options;
    for (const name of names) {
      const p = params.get(name) as tf.Variable;
      const buf = this.buffers.get(name);
      const attrs = { lr, momentum, weightDecay: weightDecay > 0 && !this.noDecay(name) ? weightDecay : 0, gradScale };
      const inputs: tf.NamedTensorMap = buf ? { param: p, grad: grads[name], buffer: buf } : { param: p, grad: grads[name] };
      const [nextP, nextBuf] = tf.engine().runKernel(MOMENTUM_SGD_KERNEL, inputs, attrs) as tf.Tensor[];
      p.assign(nextP);
      if (buf) {
        buf.assign(nextBuf);
      } else {
        this.newBuffer(name, nextBuf);
      }
      tf.dispose([nextP, nextBuf]);
    }
  }

  /** A new momentum buffer for parameter `name` holding `value` (unique variable names: a process may hold several optimizers). */
  private newBuffer(name: string, value: tf.Tensor): tf.Variable {
    const buf = tf.variable(value, false, `momentum/${name}/${Math.random().toString(36).slice(2)}`);
    this.buffers.set(name, buf);
    return buf;
  }

  /** Momentum buffers by parameter name (for checkpoints). */
  state(): Map<string, tf.Variable> {
    return this.buffers;
  }

  loadState(buffers: Map<string, { shape: number[]; data: Float32Array }>): void {
    this.dispose();
    for (const [name, b] of buffers) {
      // tf.variable shares the value's data and counts it as a second tensor, so the value goes
      const value = tf.tensor(b.data, b.shape, 'float32');
      this.newBuffer(name, value);
      value.dispose();
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

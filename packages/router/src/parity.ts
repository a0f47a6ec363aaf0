import { type SafetensorsFile, type StoredTensor, nchwToNhwc, tfjsConvToTorch, tfjsDepthwiseToTorch } from '@dynhead/safetensors';
import { sumTensors } from '@dynhead/sparse-conv';
import * as tf from '@tensorflow/tfjs-core';
import { budgetRatio } from './budget';
import type { HeadConfig } from './config';
import { DynamicHead, type HeadOutputs } from './dynamic-head';
import { headConfigFromMetadata } from './golden-config';
import type { HeadParam } from './param-scope';

/** The groups a golden file is compared in; each has its own tolerance (relative L2 error). */
export type ParityGroupName =
  | 'train.outputs'
  | 'train.gates'
  | 'train.cost'
  | 'train.budget_ratio'
  | 'train.objective'
  | 'grad'
  | 'eval.outputs'
  | 'eval.gates'
  | 'eval.cost';

export type ParityTolerances = Record<ParityGroupName, number>;

export interface ParityGroup {
  /** Largest relative L2 error of any tensor in the group ('grad': of all gradients as one vector). */
  worst: number;
  /** The tensor with the largest relative L2 error. */
  worstTensor: string;
  tensors: number;
  tolerance: number;
  ok: boolean;
}

export interface ParityReport {
  ok: boolean;
  worst: number;
  groups: Partial<Record<ParityGroupName, ParityGroup>>;
  config: HeadConfig;
  /** Tensors of the file that no group compared (neither weights nor known outputs). */
  unmatched: string[];
  /** The relative L2 error of every compared tensor. */
  errors: Record<string, number>;
}

/**
 * SPEC section 4's targets: outputs 1e-5 in float32 on cpu / wasm (1e-4 on webgpu, whose
 * transcendental functions are approximations), costs exact to float32 rounding. Two groups are
 * looser than SPEC's aims, by measurement: the objective (a sum of ~10^6 signed products, which
 * float32 rounds to ~1e-5 relative) and the gradient (scored as one vector; a float32 tie at a ReLU
 * input within rounding of 0 flips one unit's derivative between frameworks, and deep towers add
 * cancellation in the scalar weights' sums: measured 8e-7 (D4, cpu) to 4.6e-4 (D4, wasm) on the
 * shared files where no unit flips, 5.2e-3 / 5.3e-3 for D8 on webgpu / cpu, where two / five do;
 * router README).
 */
export function defaultTolerances(backend: string): ParityTolerances {
  const gpu = backend === 'webgpu';
  const outputs = gpu ? 1e-4 : 1e-5;
  return {
    'train.outputs': outputs,
    'train.gates': outputs,
    'train.cost': 1e-6,
    'train.budget_ratio': 1e-6,
    'train.objective': 1e-4,
    grad: gpu ? 3e-3 : 1e-3,
    'eval.outputs': outputs,
    'eval.gates': outputs,
    'eval.cost': 1e-6,
  };
}

export interface ParityOptions {
  /** Name of the file, for messages. */
  source?: string;
  /** Overrides per group; default `defaultTolerances(tf.getBackend())`. */
  tolerances?: Partial<ParityTolerances>;
  /** Default true: also compare the gradients of the objective (the slowest part). */
  gradients?: boolean;
  /** Default true: run training mode and compare `train.*` (and, with `gradients`, `grad.*`). */
  training?: boolean;
  /** Default true: also run inference mode on the first image and compare `eval.*`. */
  inference?: boolean;
}

/** Squared error and squared reference norm, in float64. */
function squares(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return [num, den];
}

const relative = ([num, den]: [number, number]) => Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);

/**
 * Collects errors into groups. Most groups score their worst tensor; the gradient is scored as one
 * vector (all parameters' gradients together), the usual gradient-check measure: a float32 tie at a
 * ReLU (an input within rounding of 0, which each framework may round to a different side) moves
 * one parameter tensor's gradient visibly while leaving the objective's gradient as a whole intact.
 */
class Comparison {
  readonly groups: Partial<Record<ParityGroupName, ParityGroup>> = {};
  readonly compared = new Set<string>();
  readonly errors: Record<string, number> = {};
  private readonly joint = new Map<ParityGroupName, [number, number]>();

  constructor(
    private readonly tolerances: ParityTolerances,
    private readonly source: string,
    private readonly jointGroups: ParityGroupName[] = ['grad'],
  ) {}

  add(group: ParityGroupName, name: string, got: ArrayLike<number>, want: StoredTensor): void {
    if (got.length !== want.data.length) {
      throw new Error(`${this.source}: ${name} has ${want.data.length} values [${want.shape}], the head produced ${got.length}`);
    }
    const sq = squares(got, want.data as Float32Array);
    const err = relative(sq);
    this.errors[name] = err;
    const g = this.groups[group] ?? { worst: 0, worstTensor: name, tensors: 0, tolerance: this.tolerances[group], ok: true };
    g.tensors++;
    if (this.jointGroups.includes(group)) {
      const [num, den] = this.joint.get(group) ?? [0, 0];
      this.joint.set(group, [num + sq[0], den + sq[1]]);
      if (!(err <= (this.errors[g.worstTensor] ?? 0)) || g.tensors === 1) g.worstTensor = name;
      g.worst = relative(this.joint.get(group) as [number, number]);
    } else if (!(err <= g.worst)) {
      // NaN counts as the worst error.
      g.worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
      g.worstTensor = name;
    }
    if (Number.isNaN(g.worst)) g.worst = Number.POSITIVE_INFINITY;
    g.ok = g.worst <= g.tolerance;
    this.groups[group] = g;
    this.compared.add(name);
  }
}

function levelNames(file: SafetensorsFile, source: string): string[] {
  const levels = [...file.tensors.keys()]
    .map((k) => /^input\.p(\d+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (levels.length === 0) throw new Error(`${source}: no input.p<N> tensors (the FPN features)`);
  return levels.map((n) => `p${n}`);
}

function required(file: SafetensorsFile, name: string, source: string): StoredTensor {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`${source}: tensor '${name}' is missing`);
  return t;
}

/** An NCHW tensor of the file as NHWC, optionally the first `images` images only. */
function nhwcTensor(t: StoredTensor, images?: number): tf.Tensor4D {
  const { data, shape } = nchwToNhwc(t.data as Float32Array, t.shape);
  if (images === undefined) return tf.tensor4d(data, shape as [number, number, number, number]);
  const per = shape[1] * shape[2] * shape[3];
  return tf.tensor4d(data.subarray(0, per * images), [images, shape[1], shape[2], shape[3]]);
}

/** The golden tensor (NCHW) as NHWC values, to compare with the head's NHWC outputs. */
function nhwcValues(t: StoredTensor): StoredTensor {
  if (t.shape.length !== 4) return t;
  const { data, shape } = nchwToNhwc(t.data as Float32Array, t.shape);
  return { dtype: 'float32', data, shape };
}

function torchValues(param: HeadParam, data: Float32Array): Float32Array {
  const shape = param.variable.shape as number[];
  if (param.layout === 'conv') return tfjsConvToTorch(data, shape).data;
  if (param.layout === 'depthwise') return tfjsDepthwiseToTorch(data, shape).data;
  return data;
}

const OUTPUT_KEYS = [
  ['logits', 'logits'],
  ['bbox_reg', 'bboxReg'],
  ['centerness', 'centerness'],
] as const;

async function compareOutputs(
  cmp: Comparison,
  file: SafetensorsFile,
  phase: 'train' | 'eval',
  out: HeadOutputs,
  levels: string[],
  source: string,
): Promise<void> {
  const group = `${phase}.outputs` as ParityGroupName;
  for (const [key, field] of OUTPUT_KEYS) {
    for (let l = 0; l < levels.length; l++) {
      const name = `${phase}.${key}.${levels[l]}`;
      cmp.add(group, name, await out[field][l].data(), nhwcValues(required(file, name, source)));
    }
  }
  for (const key of ['soft', 'used', 'full'] as const) {
    const name = `${phase}.cost.${key}`;
    if (file.tensors.has(name)) cmp.add(`${phase}.cost` as ParityGroupName, name, await out.cost[key].data(), required(file, name, source));
  }
  const gatePrefix = `${phase}.gate.`;
  for (const name of file.tensors.keys()) {
    if (!name.startsWith(gatePrefix)) continue;
    const m = /^(.*)\.call(\d+)$/.exec(name.slice(gatePrefix.length));
    const maps = m ? out.gates[m[1]] : undefined;
    const map = maps?.[Number(m?.[2])];
    if (!map) throw new Error(`${source}: ${name} names a gate call the head did not make`);
    cmp.add(`${phase}.gates` as ParityGroupName, name, await map.data(), nhwcValues(required(file, name, source)));
  }
}

function disposeOutputs(out: HeadOutputs): void {
  tf.dispose([...out.logits, ...out.bboxReg, ...out.centerness, out.cost.soft, out.cost.used, out.cost.full]);
  for (const maps of Object.values(out.gates)) tf.dispose(maps);
}

/**
 * Runs the head of a golden file (SPEC section 4) on the active backend and compares everything it
 * holds: training outputs, gate maps, costs, budget ratio, the objective and its gradients, and the
 * inference outputs and costs of the first image. The configuration comes from `__metadata__`.
 */
export async function headParity(file: SafetensorsFile, options: ParityOptions = {}): Promise<ParityReport> {
  const source = options.source ?? 'golden file';
  const tolerances = { ...defaultTolerances(tf.getBackend()), ...options.tolerances };
  const config = headConfigFromMetadata(file.metadata, source);
  const levels = levelNames(file, source);
  if (levels.length !== config.strides.length) {
    throw new Error(`${source}: ${levels.length} input levels (${levels.join(', ')}) but __metadata__.strides has ${config.strides.length}`);
  }
  const lambdaRaw = file.metadata.budget_lambda_in_objective ?? '0.1';
  const lambda = Number(lambdaRaw);
  if (!Number.isFinite(lambda)) throw new Error(`${source}: __metadata__.budget_lambda_in_objective must be a number, got '${lambdaRaw}'`);

  const cmp = new Comparison(tolerances, source);
  const head = new DynamicHead(config);
  const features = levels.map((l) => nhwcTensor(required(file, `input.${l}`, source)));
  const weights: tf.Tensor4D[] = [];
  try {
    head.loadStateDict(file, 'param.', { source });
    for (const name of head.parameters().keys()) cmp.compared.add(`param.${name}`);
    for (const l of levels) cmp.compared.add(`input.${l}`);

    for (let j = 0; file.tensors.has(`objective.weight.${j}`); j++) weights.push(nhwcTensor(required(file, `objective.weight.${j}`, source)));
    for (let j = 0; j < weights.length; j++) cmp.compared.add(`objective.weight.${j}`);
    const expected = 3 * levels.length;
    if (weights.length > 0 && weights.length !== expected) {
      throw new Error(`${source}: ${weights.length} objective.weight.* tensors, expected ${expected} (logits, bbox_reg, centerness per level)`);
    }

    let train: HeadOutputs | undefined;
    let ratio: tf.Tensor1D | undefined;
    // sum_j sum(output_j * weight_j) + lambda * mean(budget_ratio), outputs ordered logits, bbox_reg, centerness (P3 first).
    const objective = (): tf.Scalar => {
      const out = head.apply(features, 'train');
      const r = budgetRatio(out.cost);
      const ordered = [...out.logits, ...out.bboxReg, ...out.centerness];
      let total = tf.mul(tf.mean(r), lambda) as tf.Scalar;
      if (weights.length > 0) {
        const terms = ordered.map((o, j) => tf.sum(tf.mul(o, weights[j])));
        total = tf.add(sumTensors(terms), total) as tf.Scalar;
      }
      train = out;
      ratio = r;
      tf.keep(r);
      for (const t of [...ordered, out.cost.soft, out.cost.used, out.cost.full]) tf.keep(t);
      return total;
    };
    if (options.training !== false) {
      const variables = [...head.parameters()];
      if (options.gradients !== false && file.tensors.has(`grad.${variables[0][0]}`)) {
        const { value, grads } = tf.variableGrads(objective, variables.map(([, p]) => p.variable));
        for (const [name, param] of variables) {
          const key = `grad.${name}`;
          const want = file.tensors.get(key);
          if (!want) continue;
          const g = grads[param.variable.name];
          const got = g ? torchValues(param, (await g.data()) as Float32Array) : new Float32Array(want.data.length);
          cmp.add('grad', key, got, want);
        }
        if (file.tensors.has('train.objective')) cmp.add('train.objective', 'train.objective', await value.data(), required(file, 'train.objective', source));
        tf.dispose([value, ...Object.values(grads)]);
      } else {
        const value = tf.tidy(objective);
        if (file.tensors.has('train.objective')) cmp.add('train.objective', 'train.objective', await value.data(), required(file, 'train.objective', source));
        value.dispose();
      }
      const trained = train as unknown as HeadOutputs;
      try {
        await compareOutputs(cmp, file, 'train', trained, levels, source);
        if (file.tensors.has('train.budget_ratio')) {
          cmp.add('train.budget_ratio', 'train.budget_ratio', await (ratio as tf.Tensor1D).data(), required(file, 'train.budget_ratio', source));
        }
      } finally {
        disposeOutputs(trained);
        ratio?.dispose();
      }
    }

    if (options.inference !== false && file.tensors.has(`eval.logits.${levels[0]}`)) {
      const first = levels.map((l) => nhwcTensor(required(file, `input.${l}`, source), 1));
      const out = await head.infer(first);
      try {
        await compareOutputs(cmp, file, 'eval', out, levels, source);
      } finally {
        disposeOutputs(out);
        tf.dispose(first);
      }
    }
  } finally {
    tf.dispose([...features, ...weights]);
    head.dispose();
  }
  const groups = cmp.groups;
  const worst = Math.max(0, ...Object.values(groups).map((g) => (g as ParityGroup).worst));
  return {
    ok: Object.values(groups).every((g) => (g as ParityGroup).ok),
    worst,
    groups,
    config,
    unmatched: [...file.tensors.keys()].filter((k) => !cmp.compared.has(k)),
    errors: cmp.errors,
  };
}

import * as tf from '@tensorflow/tfjs-core';

/**
 * How a tfjs variable maps to its PyTorch tensor: 'conv' [kh,kw,in,out] <-> [out,in,kh,kw],
 * 'depthwise' [kh,kw,C,1] <-> [C,1,kh,kw], 'vector' the same 1-D data ([1] for scalars).
 */
export type ParamLayout = 'conv' | 'depthwise' | 'vector';

export interface HeadParam {
  variable: tf.Variable;
  layout: ParamLayout;
}

/** Initial values, as the official code draws them. */
export type ParamInit = { normal: number } | { constant: number };

/**
 * Creates a block's variables under its PyTorch module path, so that every variable carries its
 * official state_dict name (e.g. `cls_subnet.0.depth_module.gate.gate_conv.weight`).
 */
export class ParamScope {
  constructor(
    private readonly registry: Map<string, HeadParam>,
    readonly prefix: string,
    private readonly seeds: { next: number },
  ) {}

  static root(registry: Map<string, HeadParam>, seed: number): ParamScope {
    return new ParamScope(registry, '', { next: seed });
  }

  child(name: string | number): ParamScope {
    return new ParamScope(this.registry, this.path(String(name)), this.seeds);
  }

  path(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** A 3x3 (or kxk) conv filter [k,k,in,out]. */
  conv(name: string, kernel: number, inChannels: number, outChannels: number, init: ParamInit): tf.Variable<tf.Rank.R4> {
    return this.make(name, [kernel, kernel, inChannels, outChannels], 'conv', init) as tf.Variable<tf.Rank.R4>;
  }

  /** A depthwise filter [k,k,C,1]. */
  depthwise(name: string, kernel: number, channels: number, init: ParamInit): tf.Variable<tf.Rank.R4> {
    return this.make(name, [kernel, kernel, channels, 1], 'depthwise', init) as tf.Variable<tf.Rank.R4>;
  }

  /** A bias, a norm's weight or bias, or a learnable scalar ([1]). */
  vector(name: string, length: number, init: ParamInit): tf.Variable<tf.Rank.R1> {
    return this.make(name, [length], 'vector', init) as tf.Variable<tf.Rank.R1>;
  }

  private make(name: string, shape: number[], layout: ParamLayout, init: ParamInit): tf.Variable {
    const full = this.path(name);
    if (this.registry.has(full)) throw new Error(`parameter '${full}' is declared twice`);
    const seed = this.seeds.next++;
    const value = tf.tidy(() =>
      'normal' in init ? tf.randomNormal(shape, 0, init.normal, 'float32', seed) : tf.fill(shape, init.constant),
    );
    const variable = tf.variable(value, true);
    value.dispose();
    this.registry.set(full, { variable, layout });
    return variable;
  }
}

/** The PyTorch shape of a tfjs variable. */
export function torchShape(param: HeadParam): number[] {
  const s = param.variable.shape as number[];
  switch (param.layout) {
    case 'conv':
      return [s[3], s[2], s[0], s[1]];
    case 'depthwise':
      return [s[2], 1, s[0], s[1]];
    case 'vector':
      return [...s];
  }
}

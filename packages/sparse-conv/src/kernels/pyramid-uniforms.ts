import { levelRowStarts, type PyramidLayout } from '../pyramid';

/** What tfjs's runWebGPUProgram takes as a program's own uniform values. */
export type UniformData = { type: 'int32'; data: number[] }[];

/** Each uniform name's declaration and expression, made once: programs are made every dispatch, with the same few hundred names. */
const uniformStrings = new Map<string, { field: string; expr: string }>();

/** Each level uniform name, by prefix and kind, then level. */
const levelNames = new Map<string, string[]>();

/** The uniform name `${prefix}${kind}${l}` (a level's or run's), each made once. */
export function levelName(prefix: string, kind: string, l: number): string {
  const key = `${prefix}${kind}`;
  let names = levelNames.get(key);
  if (!names) {
    names = [];
    levelNames.set(key, names);
  }
  for (let i = names.length; i <= l; i++) names.push(`${key}${i}`);
  return names[l];
}

/**
 * A program's own i32 uniforms (tfjs's programDefinedUniform), declared and filled in one order.
 * A pyramid's level sizes go here rather than into the WGSL text, so that one shader serves every
 * image size (tfjs keys its pipelines by the program's shaderKey, not by its shapes). One uniform
 * per value: tfjs aligns each entry, and takes no arrays.
 */
export class ProgramUniforms {
  private readonly values: number[] = [];
  // built as uniforms are added (a program is made every dispatch)
  private fields = '';

  /** A new uniform with this value: its WGSL expression. */
  add(name: string, value: number): string {
    if (!Number.isInteger(value)) throw new Error(`ProgramUniforms: ${name} must be an integer, got ${value}`);
    let strings = uniformStrings.get(name);
    if (!strings) {
      strings = { field: `${name} : i32,`, expr: `uniforms.${name}` };
      uniformStrings.set(name, strings);
    }
    this.fields += this.values.length > 0 ? ` ${strings.field}` : strings.field;
    this.values.push(value);
    return strings.expr;
  }

  /** For the program's `uniforms` field; undefined when there are none. */
  get declaration(): string | undefined {
    return this.values.length > 0 ? this.fields : undefined;
  }

  /** For runWebGPUProgram's programDefinedUniform; undefined when there are none. */
  get data(): UniformData | undefined {
    return this.values.length > 0 ? this.values.map((v) => ({ type: 'int32' as const, data: [v] })) : undefined;
  }
}

/** A packed pyramid's levels as WGSL expressions: each level's first row (and the row count last), height and width. */
export interface LevelExprs {
  starts: string[];
  heights: string[];
  widths: string[];
}

/** The layout's levels as uniforms named `${prefix}Start0`, `${prefix}H0`, ... */
export function levelUniforms(u: ProgramUniforms, layout: PyramidLayout, prefix: string): LevelExprs {
  return {
    starts: levelRowStarts(layout).map((s, l) => u.add(levelName(prefix, 'Start', l), s)),
    heights: layout.sizes.map(([h], l) => u.add(levelName(prefix, 'H', l), h)),
    widths: layout.sizes.map(([, w], l) => u.add(levelName(prefix, 'W', l), w)),
  };
}

/**
 * A program's uniforms holding only a pyramid's levels (prefix 'pyr'): their expressions for the
 * WGSL, and the program's `uniforms` and `uniformData` fields.
 */
export function pyramidUniformsOf(layout: PyramidLayout): { levels: LevelExprs; uniforms: string | undefined; uniformData: UniformData | undefined } {
  const u = new ProgramUniforms();
  const levels = levelUniforms(u, layout, 'pyr');
  return { levels, uniforms: u.declaration, uniformData: u.data };
}

/** A pyramid's part in a shader key: its level count (the sizes are uniforms). */
export function pyramidShaderKey(layout: PyramidLayout | undefined | null): string {
  return layout ? `pyr${layout.sizes.length}` : 'map';
}

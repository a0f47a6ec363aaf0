import { type PyramidLayout, sameLayout } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { type LevelExprs, levelUniforms, ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { NEWLINE, workgroupSumSnippet } from './webgpu-snippets';

/** Threads of a workgroup by default (a GPU); SwiftShader takes 4 (webgpu-tuning.ts's DeviceTuning). */
export const GATE_SUMS_THREADS = 256;

/**
 * A GPU's pixels of an image per workgroup: an image's maps are split into chunks this big, each
 * summed by a workgroup of its own (GateSumsProgram with chunks), then combined per image
 * (GateSumsCombineProgram). One workgroup per image took an H200 0.43 ms a dispatch on P3..P7 of
 * 800x1333 (3.4 of a D8 Mid pass's 34 GPU ms, 2026-12-04).
 */
export const GATE_SUMS_CHUNK_PIXELS = 2048;

/** Chunks an image of `pixels` (every plane of it) takes, `chunkPixels` each; 1: the one-pass form. */
export function gateSumsChunks(pixels: number, chunkPixels: number): number {
  return Math.max(1, Math.min(64, Math.ceil(pixels / chunkPixels)));
}

/** WGSL: v, the 3x3 max-pool ('same') of map j at pixel p of the h x w plane starting at base. */
function pooledValue(j: number): string {
  return `let y = p / w;
      let x = p - y * w;
      var v = -3.4e38;
      for (var yy = max(y - 1, 0); yy <= min(y + 1, h - 1); yy++) {
        for (var xx = max(x - 1, 0); xx <= min(x + 1, w - 1); xx++) {
          v = max(v, f32(G${j}[base + yy * w + xx]));
        }
      }`;
}

/** WGSL: (h, w, base) of each plane of image b that map j holds: its own, or one per level of a packed pyramid. */
function planes(j: number, levels: LevelExprs | null): string[] {
  if (!levels) return [`let h = uniforms.g${j}Shape[1];
    let w = uniforms.g${j}Shape[2];
    let base = b * h * w;`];
  return levels.heights.map((h, l) => `let h = ${h};
    let w = ${levels.widths[l]};
    let base = ${levels.starts[l]} + b * h * w;`);
}

/**
 * One term of a gate sums program: map `map` (its binding, G{map}) read plainly or as its 3x3
 * max-pool. A map charged both ways (a depth node's gate, for its two convs) is bound once.
 */
export interface GateSumsTerm {
  map: number;
  pooled: boolean;
}

/**
 * WGSL: the final write of image b's sums (total, a vec2: soft, used) into [B, 2], or by column
 * into [2, B] (each column a block of rows, so that a caller takes them apart by buffer copies).
 */
function writeTotalSnippet(byColumn: boolean): string {
  return byColumn
    ? `if (t == 0 && b < uniforms.outShape[1]) {
    setOutputAtIndex(b, total.x);
    setOutputAtIndex(uniforms.outShape[1] + b, total.y);
  }`
    : `if (t == 0 && b < uniforms.outShape[0]) {
    setOutputAtIndex(b * 2, total.x);
    setOutputAtIndex(b * 2 + 1, total.y);
  }`;
}

/**
 * Per image, over gate maps G0..G{m-1} ([B,h_j,w_j,1] each, or a packed pyramid's [P,1] with every
 * level's plane of the image) and the terms that read them (a map plainly or as its 3x3 max-pool)
 * with their Units [k]: sum_j Units[j] * [sum of term j, count of its nonzero values] -> [B, 2]
 * (the soft and used cost of k gated convs). One workgroup per image takes the terms in turn: a
 * strided pass, then a tree sum in workgroup memory; each term's sums are weighted once, in
 * float32, as chargeCost weights them. The partial form (`partials`) weighs nothing: `chunks`
 * workgroups per image each take every chunks-th stretch of the strided pass and write each
 * term's unweighted sums, [B, chunks, k, 2], for GateSumsCombineProgram (which also adds the
 * partial sums of several such programs: a pass's maps need more bindings than one stage has).
 */
export class GateSumsProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly terms: GateSumsTerm[];
  private readonly threads: number;
  private readonly levels: (LevelExprs | null)[];
  private readonly chunks: number;
  private readonly partials: boolean;
  private readonly byColumn: boolean;
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * terms: what is summed, in Units' order. threads: a power of two; on SwiftShader few, since each
   * barrier of the tree sum switches between all of them. pyramids[m]: map m is a packed pyramid's
   * gate so laid out (else [B,h,w,1]). chunks > 1 needs the partial form. byColumn: the sums
   * written [2, B] (soft of every image, then used), not [B, 2].
   */
  constructor(batch: number, terms: GateSumsTerm[], threads = GATE_SUMS_THREADS, pyramids: (PyramidLayout | null)[] = [null], chunks = 1, partials = chunks > 1, byColumn = false) {
    if (chunks > 1 && !partials) throw new Error('GateSumsProgram: chunks > 1 write partial sums');
    const maps = pyramids.length;
    if (terms.some((t) => !(Number.isInteger(t.map) && t.map >= 0 && t.map < maps))) throw new Error(`GateSumsProgram: a term reads a map outside 0..${maps - 1}`);
    this.terms = terms;
    this.threads = threads;
    this.chunks = chunks;
    this.partials = partials;
    this.byColumn = byColumn && !partials;
    const u = new ProgramUniforms();
    // maps of one layout read the first one's level uniforms (a pass's charges come in two or three
    // layouts over up to 7 maps of up to 20 levels: hundreds of uniforms otherwise)
    const first = pyramids.map((p, m) => (p ? pyramids.findIndex((q) => q !== null && sameLayout(p, q)) : m));
    const own = pyramids.map((p, m) => (p && first[m] === m ? levelUniforms(u, p, `g${m}Level`) : null));
    this.levels = pyramids.map((p, m) => (p ? own[first[m]] : null));
    [this.uniforms, this.uniformData] = [u.declaration, u.data];
    this.workgroupSize = [threads, 1, 1];
    this.variableNames = [...pyramids.map((_, m) => `G${m}`), ...(partials ? [] : ['Units'])];
    this.outputShape = partials ? [batch * chunks * terms.length * 2] : this.byColumn ? [2, batch] : [batch, 2];
    // which maps share whose uniforms is in the code
    const layouts = pyramids.map((p, m) => `${pyramidShaderKey(p)}${p && first[m] !== m ? `=${first[m]}` : ''}`).join('-');
    // the chunk count is in the code (the strides), so in the key: tfjs reuses a pipeline by key
    this.shaderKey = `dynheadGateSums_${terms.map((t) => `${t.map}${t.pooled ? 'p' : ''}`).join('.')}_${maps}_${threads}_${chunks}_${partials}_${this.byColumn}_${layouts}`;
    this.dispatch = [chunks, batch, 1];
  }

  getUserCode(): string {
    // partial form: workgroup c takes the strided pass's stretches c, c + chunks, ...
    const [first, stride] = this.partials ? [`c * ${this.threads} + t`, `${this.chunks * this.threads}`] : ['t', `${this.threads}`];
    const k = this.terms.length;
    const termSums = this.terms.map(
      ({ map: m, pooled }, j) => `
  {
    var s = vec2<f32>(0.0);
    ${planes(m, this.levels[m]).map((plane) => `{
    ${plane}
    for (var p = ${first}; p < h * w; p += ${stride}) {
      ${pooled ? pooledValue(m) : `let v = f32(G${m}[base + p]);`}
      s += vec2<f32>(v, select(0.0, 1.0, v != 0.0));
    }
    }`).join(NEWLINE + '    ')}
    partial[t] = s;
    ${workgroupSumSnippet(this.threads)}
    ${this.partials ? `let at = ((b * ${this.chunks} + c) * ${k} + ${j}) * 2;
    // the bound keeps the uniforms bound (a shader that reads none loses their binding)
    if (t == 0 && at + 1 < uniforms.outShape) {
      setOutputAtIndex(at, partial[0].x);
      setOutputAtIndex(at + 1, partial[0].y);
    }` : `total += Units[${j}] * partial[0];`}
    workgroupBarrier();
  }`,
    ).join('');
    // a workgroup per image; the bound also keeps the uniforms bound in every form of the program
    // (a shader that reads no uniform loses their binding, and the dispatch fails)
    const end = this.partials
      ? ''
      : `  ${writeTotalSnippet(this.byColumn)}`;
    return `
var<workgroup> partial : array<vec2<f32>, ${this.threads}>;

fn main() {
  let b = i32(workgroupId.y);
  let c = i32(workgroupId.x);
  let t = i32(localId.x);
  ${this.partials ? '' : 'var total = vec2<f32>(0.0);'}${termSums}
${end}
}
`;
  }
}

/**
 * Per image, the partial sums [B, chunks, k_i, 2] of GateSumsProgram i (for each of `terms`: its
 * k_i) and the terms' Units [sum of k_i] (in the programs' order) -> [B, 2]: sum over terms of
 * Units[j] * (sum over chunks of term j's sums), plus Prev [B, 2] (an earlier combine's) when
 * `prev`. A workgroup per image; each term's chunk sums added in a tree, then weighted once, as
 * the one-pass form weights them.
 */
export class GateSumsCombineProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly terms: number[];
  private readonly chunks: number;
  private readonly prev: boolean;
  private readonly byColumn: boolean;

  /** byColumn: as GateSumsProgram's (Prev, an earlier combine's, is [B, 2] either way) */
  constructor(batch: number, terms: number[], chunks: number, prev = false, byColumn = false) {
    this.terms = terms;
    this.chunks = chunks;
    this.prev = prev;
    this.byColumn = byColumn;
    this.variableNames = [...terms.map((_, i) => `Sums${i}`), ...(prev ? ['Prev'] : []), 'Units'];
    this.outputShape = byColumn ? [2, batch] : [batch, 2];
    this.dispatch = [1, batch, 1];
    this.shaderKey = `dynheadGateSumsCombine_${terms.join('.')}_${chunks}_${prev}_${byColumn}`;
  }

  getUserCode(): string {
    const threads = this.workgroupSize[0];
    let unit = 0;
    const parts = this.terms.map((k, i) => {
      const first = unit;
      unit += k;
      return `for (var j = 0; j < ${k}; j++) {
    var s = vec2<f32>(0.0);
    for (var c = t; c < ${this.chunks}; c += ${threads}) {
      let at = ((b * ${this.chunks} + c) * ${k} + j) * 2;
      s += vec2<f32>(Sums${i}[at], Sums${i}[at + 1]);
    }
    partial[t] = s;
    ${workgroupSumSnippet(threads)}
    total += Units[${first} + j] * partial[0];
    workgroupBarrier();
  }`;
    });
    return `
var<workgroup> partial : array<vec2<f32>, ${threads}>;

fn main() {
  let b = i32(workgroupId.y);
  let t = i32(localId.x);
  var total = vec2<f32>(0.0);
  ${parts.join(NEWLINE + '  ')}
  ${this.prev ? 'total += vec2<f32>(Prev[b * 2], Prev[b * 2 + 1]);' : ''}
  ${writeTotalSnippet(this.byColumn)}
}
`;
  }
}

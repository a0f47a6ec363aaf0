import type { PyramidLayout } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { type LevelExprs, levelUniforms, ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { NEWLINE, workgroupSumSnippet } from './webgpu-snippets';

/** Threads of a workgroup by default (a GPU); SwiftShader takes 4 (webgpu-kernels.ts's DeviceTuning). */
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
 * Per image, over gate maps G0..G{k-1} ([B,h_j,w_j,1] each, or a packed pyramid's [P,1] with every
 * level's plane of the image, or their 3x3 max-pools) and their Units [k]:
 * sum_j Units[j] * [sum of G_j, count of G_j != 0] -> [B, 2] (the soft and used cost of k gated
 * convs). One workgroup per image takes the maps in turn: a strided pass, then a tree sum in
 * workgroup memory; each map's sums are weighted once, in float32, as chargeCost weights them.
 * With chunks > 1, chunks workgroups per image each take every chunks-th stretch of the strided
 * pass and write each map's unweighted sums, [B, chunks, k, 2], for GateSumsCombineProgram.
 */
export class GateSumsProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly pooled: boolean[];
  private readonly threads: number;
  private readonly levels: (LevelExprs | null)[];
  private readonly chunks: number;
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * pooled[j]: map j enters as its 3x3 max-pool ('same'), taken as it is read (within each level of
   * a pyramid). threads: a power of two; on SwiftShader few, since each barrier of the tree sum
   * switches between all of them. pyramids[j]: map j is a packed pyramid's gate so laid out.
   */
  constructor(batch: number, pooled: boolean[], threads = GATE_SUMS_THREADS, pyramids: (PyramidLayout | null)[] = pooled.map(() => null), chunks = 1) {
    this.pooled = pooled;
    this.threads = threads;
    this.chunks = chunks;
    const u = new ProgramUniforms();
    this.levels = pyramids.map((p, j) => (p ? levelUniforms(u, p, `g${j}Level`) : null));
    [this.uniforms, this.uniformData] = [u.declaration, u.data];
    this.workgroupSize = [threads, 1, 1];
    // the chunked form weighs nothing: GateSumsCombineProgram takes the units
    this.variableNames = [...pooled.map((_, j) => `G${j}`), ...(chunks > 1 ? [] : ['Units'])];
    this.outputShape = chunks > 1 ? [batch * chunks * pooled.length * 2] : [batch, 2];
    const layouts = pyramids.map(pyramidShaderKey).join('-');
    // the chunk count is in the code (the strides), so in the key: tfjs reuses a pipeline by key
    this.shaderKey = `dynheadGateSums_${pooled.map((p) => (p ? 1 : 0)).join('')}_${threads}_${chunks}_${layouts}`;
    this.dispatch = [chunks, batch, 1];
  }

  getUserCode(): string {
    const chunked = this.chunks > 1;
    // chunked: workgroup c takes the strided pass's stretches c, c + chunks, ...
    const [first, stride] = chunked ? [`c * ${this.threads} + t`, `${this.chunks * this.threads}`] : ['t', `${this.threads}`];
    const mapSums = this.pooled.map(
      (pooled, j) => `
  {
    var s = vec2<f32>(0.0);
    ${planes(j, this.levels[j]).map((plane) => `{
    ${plane}
    for (var p = ${first}; p < h * w; p += ${stride}) {
      ${pooled ? pooledValue(j) : `let v = f32(G${j}[base + p]);`}
      s += vec2<f32>(v, select(0.0, 1.0, v != 0.0));
    }
    }`).join(NEWLINE + '    ')}
    partial[t] = s;
    ${workgroupSumSnippet(this.threads)}
    ${chunked ? `let at = ((b * ${this.chunks} + c) * ${this.pooled.length} + ${j}) * 2;
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
    const end = chunked
      ? ''
      : `  if (t == 0 && b < uniforms.outShape[0]) {
    setOutputAtIndex(b * 2, total.x);
    setOutputAtIndex(b * 2 + 1, total.y);
  }`;
    return `
var<workgroup> partial : array<vec2<f32>, ${this.threads}>;

fn main() {
  let b = i32(workgroupId.y);
  let c = i32(workgroupId.x);
  let t = i32(localId.x);
  ${chunked ? '' : 'var total = vec2<f32>(0.0);'}${mapSums}
${end}
}
`;
  }
}

/**
 * Per image, GateSumsProgram's chunked sums [B, chunks, k, 2] and the maps' Units [k] ->
 * sum_j Units[j] * (sum over chunks of map j's sums) -> [B, 2]: a workgroup per image, each map's
 * chunk sums added in a tree, then weighted once, as the one-pass form weights them.
 */
export class GateSumsCombineProgram implements WebGPUProgramLike {
  variableNames = ['Sums', 'Units'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly maps: number;
  private readonly chunks: number;

  constructor(batch: number, maps: number, chunks: number) {
    this.maps = maps;
    this.chunks = chunks;
    this.outputShape = [batch, 2];
    this.dispatch = [1, batch, 1];
    this.shaderKey = `dynheadGateSumsCombine_${maps}_${chunks}`;
  }

  getUserCode(): string {
    const threads = this.workgroupSize[0];
    return `
var<workgroup> partial : array<vec2<f32>, ${threads}>;

fn main() {
  let b = i32(workgroupId.y);
  let t = i32(localId.x);
  var total = vec2<f32>(0.0);
  for (var j = 0; j < ${this.maps}; j++) {
    var s = vec2<f32>(0.0);
    for (var c = t; c < ${this.chunks}; c += ${threads}) {
      let at = ((b * ${this.chunks} + c) * ${this.maps} + j) * 2;
      s += vec2<f32>(Sums[at], Sums[at + 1]);
    }
    partial[t] = s;
    ${workgroupSumSnippet(threads)}
    total += Units[j] * partial[0];
    workgroupBarrier();
  }
  if (t == 0 && b < uniforms.outShape[0]) {
    setOutputAtIndex(b * 2, total.x);
    setOutputAtIndex(b * 2 + 1, total.y);
  }
}
`;
  }
}

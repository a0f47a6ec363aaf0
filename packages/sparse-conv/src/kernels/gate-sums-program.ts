import type { PyramidLayout } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { type LevelExprs, levelUniforms, ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { NEWLINE, workgroupSumSnippet } from './webgpu-snippets';

/** Threads of a workgroup by default (a GPU); SwiftShader takes 4 (webgpu-kernels.ts's DeviceTuning). */
export const GATE_SUMS_THREADS = 256;

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
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * pooled[j]: map j enters as its 3x3 max-pool ('same'), taken as it is read (within each level of
   * a pyramid). threads: a power of two; on SwiftShader few, since each barrier of the tree sum
   * switches between all of them. pyramids[j]: map j is a packed pyramid's gate so laid out.
   */
  constructor(batch: number, pooled: boolean[], threads = GATE_SUMS_THREADS, pyramids: (PyramidLayout | null)[] = pooled.map(() => null)) {
    this.pooled = pooled;
    this.threads = threads;
    const u = new ProgramUniforms();
    this.levels = pyramids.map((p, j) => (p ? levelUniforms(u, p, `g${j}Level`) : null));
    [this.uniforms, this.uniformData] = [u.declaration, u.data];
    this.workgroupSize = [threads, 1, 1];
    this.variableNames = [...pooled.map((_, j) => `G${j}`), 'Units'];
    this.outputShape = [batch, 2];
    const layouts = pyramids.map(pyramidShaderKey).join('-');
    this.shaderKey = `dynheadGateSums_${pooled.map((p) => (p ? 1 : 0)).join('')}_${threads}_${layouts}`;
    this.dispatch = [1, batch, 1];
  }

  getUserCode(): string {
    const mapSums = this.pooled.map(
      (pooled, j) => `
  {
    var s = vec2<f32>(0.0);
    ${planes(j, this.levels[j]).map((plane) => `{
    ${plane}
    for (var p = t; p < h * w; p += ${this.threads}) {
      ${pooled ? pooledValue(j) : `let v = f32(G${j}[base + p]);`}
      s += vec2<f32>(v, select(0.0, 1.0, v != 0.0));
    }
    }`).join(NEWLINE + '    ')}
    partial[t] = s;
    ${workgroupSumSnippet(this.threads)}
    total += Units[${j}] * partial[0];
    workgroupBarrier();
  }`,
    ).join('');
    return `
var<workgroup> partial : array<vec2<f32>, ${this.threads}>;

fn main() {
  let b = i32(workgroupId.y);
  let t = i32(localId.x);
  var total = vec2<f32>(0.0);${mapSums}
  // a workgroup per image; the bound also keeps the uniforms bound in every form of the program
  // (a shader that reads no uniform loses their binding, and the dispatch fails)
  if (t == 0 && b < uniforms.outShape[0]) {
    setOutputAtIndex(b * 2, total.x);
    setOutputAtIndex(b * 2 + 1, total.y);
  }
}
`;
  }
}

import type { WebGPUProgramLike } from './masked-conv-program';
import { workgroupSumSnippet } from './webgpu-snippets';

/** Threads of a workgroup by default (a GPU); SwiftShader takes 4 (webgpu-kernels.ts's DeviceTuning). */
export const GATE_SUMS_THREADS = 256;

/** WGSL: v, the 3x3 max-pool ('same') of map j of image b at pixel p of its h x w plane. */
function pooledValue(j: number): string {
  return `let y = p / w;
      let x = p - y * w;
      var v = -3.4e38;
      for (var yy = max(y - 1, 0); yy <= min(y + 1, h - 1); yy++) {
        for (var xx = max(x - 1, 0); xx <= min(x + 1, w - 1); xx++) {
          v = max(v, f32(G${j}[b * plane + yy * w + xx]));
        }
      }`;
}

/**
 * Per image, over gate maps G0..G{k-1} ([B,h_j,w_j,1] each, or their 3x3 max-pools) and their Units [k]:
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

  /**
   * pooled[j]: map j enters as its 3x3 max-pool ('same'), taken as it is read. threads: a power of
   * two; on SwiftShader few, since each barrier of the tree sum switches between all of them.
   */
  constructor(batch: number, pooled: boolean[], threads = GATE_SUMS_THREADS) {
    this.pooled = pooled;
    this.threads = threads;
    this.workgroupSize = [threads, 1, 1];
    this.variableNames = [...pooled.map((_, j) => `G${j}`), 'Units'];
    this.outputShape = [batch, 2];
    this.shaderKey = `dynheadGateSums_${pooled.map((p) => (p ? 1 : 0)).join('')}_${threads}`;
    this.dispatch = [1, batch, 1];
  }

  getUserCode(): string {
    const mapSums = this.pooled.map(
      (pooled, j) => `
  {
    let h = uniforms.g${j}Shape[1];
    let w = uniforms.g${j}Shape[2];
    let plane = h * w;
    var s = vec2<f32>(0.0);
    for (var p = t; p < plane; p += ${this.threads}) {
      ${pooled ? pooledValue(j) : `let v = f32(G${j}[b * plane + p]);`}
      s += vec2<f32>(v, select(0.0, 1.0, v != 0.0));
    }
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
  if (t == 0) {
    setOutputAtIndex(b * 2, total.x);
    setOutputAtIndex(b * 2 + 1, total.y);
  }
}
`;
  }
}

import type { WebGPUProgramLike } from './masked-conv-program';
import { workgroupSumSnippet } from './webgpu-snippets';

const THREADS = 256;

/**
 * Per image, over gate maps G0..G{k-1} ([B,h_j,w_j,1] each) and their Units [k]:
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
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  private readonly maps: number;

  constructor(batch: number, maps: number) {
    this.maps = maps;
    this.variableNames = [...Array.from({ length: maps }, (_, j) => `G${j}`), 'Units'];
    this.outputShape = [batch, 2];
    this.shaderKey = `dynheadGateSums_${maps}`;
    this.dispatch = [1, batch, 1];
  }

  getUserCode(): string {
    const mapSums = Array.from(
      { length: this.maps },
      (_, j) => `
  {
    let plane = uniforms.g${j}Shape[1] * uniforms.g${j}Shape[2];
    var s = vec2<f32>(0.0);
    for (var p = t; p < plane; p += ${THREADS}) {
      let v = f32(G${j}[b * plane + p]);
      s += vec2<f32>(v, select(0.0, 1.0, v != 0.0));
    }
    partial[t] = s;
    ${workgroupSumSnippet(THREADS)}
    total += Units[${j}] * partial[0];
    workgroupBarrier();
  }`,
    ).join('');
    return `
var<workgroup> partial : array<vec2<f32>, ${THREADS}>;

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

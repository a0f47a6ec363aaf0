import type { WebGPUProgramLike } from './masked-conv-program';
import { workgroupSumSnippet } from './webgpu-snippets';

const THREADS = 256;

/**
 * Per image of a gate map G [B,H,W,1]: [sum of G, count of G != 0] -> [B, 2] (the soft and used
 * cost of a gated conv, before its multiply-adds per pixel). One workgroup per image: a strided
 * pass, then a tree sum in workgroup memory.
 */
export class GateSumsProgram implements WebGPUProgramLike {
  variableNames = ['G'];
  outputShape: number[];
  shaderKey = 'dynheadGateSums';
  dispatchLayout = { x: [0], y: [1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];

  constructor(batch: number) {
    this.outputShape = [batch, 2];
    this.dispatch = [1, batch, 1];
  }

  getUserCode(): string {
    return `
var<workgroup> partial : array<vec2<f32>, ${THREADS}>;

fn main() {
  let plane = uniforms.gShape[1] * uniforms.gShape[2];
  let b = i32(workgroupId.y);
  let t = i32(localId.x);
  var s = vec2<f32>(0.0);
  for (var p = t; p < plane; p += ${THREADS}) {
    let v = f32(G[b * plane + p]);
    s += vec2<f32>(v, select(0.0, 1.0, v != 0.0));
  }
  partial[t] = s;
  ${workgroupSumSnippet(THREADS)}
  if (t == 0) {
    setOutputAtIndex(b * 2, partial[0].x);
    setOutputAtIndex(b * 2 + 1, partial[0].y);
  }
}
`;
  }
}

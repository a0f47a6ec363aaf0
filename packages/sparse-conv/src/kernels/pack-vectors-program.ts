import type { WebGPUProgramLike } from './masked-conv-program';
import { ProgramUniforms, type UniformData } from './pyramid-uniforms';
import { elementwiseDispatch, NEWLINE, range } from './webgpu-snippets';

/**
 * Small vectors V0 .. V{k-1} (k up to 7: a stage's 8 buffers with the output) one after another in
 * one buffer, zeros after them up to `total`: a program whose stage has no binding left for each
 * weight reads them all from one. Their sizes are uniforms, so one shader serves every width.
 */
export class PackVectorsProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms?: string;
  uniformData?: UniformData;
  private readonly ends: string[];

  constructor(sizes: number[], total = sizes.reduce((a, v) => a + v, 0)) {
    if (sizes.length < 1 || sizes.length > 7) throw new Error(`PackVectorsProgram: 1 to 7 vectors, got ${sizes.length}`);
    if (total < sizes.reduce((a, v) => a + v, 0)) throw new Error(`PackVectorsProgram: total ${total} is short of the vectors' ${sizes.reduce((a, v) => a + v, 0)} values`);
    this.variableNames = sizes.map((_, i) => `V${i}`);
    const u = new ProgramUniforms();
    // each vector's end in the buffer: a running sum of the sizes
    this.ends = sizes.map((_, i) => u.add(`end${i}`, sizes.slice(0, i + 1).reduce((a, v) => a + v, 0)));
    [this.uniforms, this.uniformData] = [u.declaration, u.data];
    this.outputShape = [total];
    this.shaderKey = `dynheadPackVectors_${sizes.length}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(this.outputShape));
  }

  getUserCode(): string {
    const pieces = range(this.ends.length).map((i) => {
      const start = i === 0 ? '0' : this.ends[i - 1];
      return `${i === 0 ? '' : '} else '}if (index < ${this.ends[i]}) {
    v = V${i}[index - ${start}];`;
    });
    return `
fn main(index : i32) {
  if (index >= uniforms.size) {
    return;
  }
  var v = 0.0;
  ${pieces.join(NEWLINE + '  ')}
  }
  setOutputAtIndex(index, v);
}
`;
  }
}

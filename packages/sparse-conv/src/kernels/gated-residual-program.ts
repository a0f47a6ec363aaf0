import type { WebGPUProgramLike } from './masked-conv-program';
import { elementwiseDispatch } from './webgpu-snippets';

/** A depth node's output in one dispatch: ReLU(Input + Gate * Y), Y and Input [B,H,W,C], Gate [B,H,W,1]. */
export class GatedResidualProgram implements WebGPUProgramLike {
  variableNames = ['Y', 'Input', 'Gate'];
  outputShape: number[];
  shaderKey = 'dynheadGatedResidual';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(shape: number[]) {
    this.outputShape = shape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(shape));
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let g = f32(Gate[index / uniforms.outShape[3]]);
    setOutputAtIndex(index, max(Input[index] + Y[index] * g, 0.0));
  }
}
`;
  }
}

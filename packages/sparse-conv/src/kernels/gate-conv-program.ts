import type { WebGPUProgramLike } from './masked-conv-program';
import { elementwiseDispatch, taps3x3Snippet } from './webgpu-snippets';

/**
 * A spatial gate's conv in one dispatch: 'same' 3x3, C -> 1, one thread per output pixel (nine taps
 * of C values read as vec4). tf.conv2d to one channel takes an im2col and a matMul. Inputs: X
 * [B,H,W,C] (C a multiple of 4), F [3,3,C,1]; with `activation` (WGSL declaring `fn
 * gateActivation(v : f32) -> f32`) also Bias [1], and the output is gateActivation(conv + bias):
 * the gate itself, without a dispatch of its own. Output [B,H,W,1].
 */
export class GateConvProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  private readonly activation: string | undefined;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(xShape: number[], activation?: string) {
    const [b, h, w] = xShape;
    this.activation = activation;
    this.variableNames = activation ? ['X', 'F', 'Bias'] : ['X', 'F'];
    this.variableComponents = activation ? [4, 4, 1] : [4, 4];
    // the activation's code is part of the shader: programs with other constants are other shaders
    this.shaderKey = activation ? `dynheadGateConv3x3_${activation}` : 'dynheadGateConv3x3';
    this.outputShape = [b, h, w, 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(this.outputShape));
  }

  getUserCode(): string {
    const sum = 'acc.x + acc.y + acc.z + acc.w';
    return `
${this.activation ?? ''}

fn main(index : i32) {
  if (index < uniforms.size) {
    let h = uniforms.xShape[1];
    let w = uniforms.xShape[2];
    let c4 = uniforms.xShape[3] / 4;
    var acc = vec4<f32>(0.0);
    ${taps3x3Snippet('index', `let xBase = ((b * h + yy) * w + xx) * c4;
      let fBase = (ky * 3 + kx) * c4;
      for (var q = 0; q < c4; q++) {
        acc = fma(X[xBase + q], F[fBase + q], acc);
      }`)}
    setOutputAtIndex(index, ${this.activation ? `gateActivation((${sum}) + f32(Bias[0]))` : sum});
  }
}
`;
  }
}

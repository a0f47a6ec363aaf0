import { type PyramidLayout, pyramidRows } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { elementwiseDispatch, NEWLINE, type PyramidRowGroups, pyramidRowGroups, range, rowGroups, rowGroupSnippet, rowWindowLoopSnippet } from './webgpu-snippets';

/**
 * Horizontally adjacent output pixels one thread computes by default: they share six columns of X,
 * not 4 x 3. SwiftShader takes 8 (webgpu-kernels.ts's DeviceTuning): a 52x84x256 gate 15-18 ->
 * 12-15 ms.
 */
export const GATE_CONV_PIXELS = 4;

/**
 * A spatial gate's conv in one dispatch: 'same' 3x3, C -> 1, one thread per `pixels` adjacent output
 * pixels of a row, reading each X value of their 3 x (pixels + 2) window once as vec4s (on
 * SwiftShader a 50x84x256 gate: 11 ms, 36 ms with one pixel a thread). tf.conv2d to one channel takes
 * an im2col and a matMul. Inputs: X [B,H,W,C] (C a multiple of 4), F [3,3,C,1]; with `activation`
 * (WGSL declaring `fn gateActivation(v : f32) -> f32`) also Bias [1], and the output is
 * gateActivation(conv + bias): the gate itself, without a dispatch of its own. Output [B,H,W,1].
 * With `pyramid`, X is a packed pyramid (pyramid.ts, read as [1, P, 1, C]), each level's taps kept
 * to it, and the output its gate [P, 1]: every level in one dispatch.
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

  private readonly pixels: number;
  private readonly groups?: PyramidRowGroups;
  uniforms?: string;
  uniformData?: UniformData;

  /** pixels: adjacent output pixels a thread computes; pyramid: X is packed so. */
  constructor(xShape: number[], activation?: string, pixels = GATE_CONV_PIXELS, pyramid?: PyramidLayout) {
    const [b, h, w] = xShape;
    this.activation = activation;
    this.pixels = pixels;
    if (pyramid) {
      const u = new ProgramUniforms();
      this.groups = pyramidRowGroups(u, pyramid, pixels);
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    this.variableNames = activation ? ['X', 'F', 'Bias'] : ['X', 'F'];
    this.variableComponents = activation ? [4, 4, 1] : [4, 4];
    // the activation's code is part of the shader: programs with other constants are other shaders
    this.shaderKey = `${activation ? `dynheadGateConv3x3_${activation}` : 'dynheadGateConv3x3'}_${pixels}_${pyramidShaderKey(pyramid)}`;
    this.outputShape = pyramid ? [pyramidRows(pyramid), 1] : [b, h, w, 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch([rowGroups(pyramid ?? { shape: xShape }, pixels).reduce((a, v) => a + v, 0)]));
  }

  getUserCode(): string {
    const n = this.pixels;
    const value = (p: number) => {
      const sum = `acc${p}.x + acc${p}.y + acc${p}.z + acc${p}.w`;
      return this.activation ? `gateActivation((${sum}) + f32(Bias[0]))` : sum;
    };
    return `
${this.activation ?? ''}

fn main(index : i32) {
  ${rowGroupSnippet(this.groups ?? { shape: 'uniforms.xShape' }, n, 'index')}
  let c4 = uniforms.xShape[3] / 4;
  if (index >= cells) {
    return;
  }
  ${range(n).map((p) => `var acc${p} = vec4<f32>(0.0);`).join(NEWLINE + '  ')}
  ${rowWindowLoopSnippet(
    n,
    'c4',
    `for (var q = 0; q < c4; q++) {
      ${range(n + 2).map((i) => `let x${i} = select(vec4<f32>(0.0), X[at${i} + q], in${i});`).join(NEWLINE + '      ')}
      let f0 = F[(ky * 3) * c4 + q];
      let f1 = F[(ky * 3 + 1) * c4 + q];
      let f2 = F[(ky * 3 + 2) * c4 + q];
      ${range(n).map((p) => `acc${p} = fma(x${p}, f0, fma(x${p + 1}, f1, fma(x${p + 2}, f2, acc${p})));`).join(NEWLINE + '      ')}
    }`,
  )}
  let out0 = mapBase + (b * h + y) * w + x0;
${range(n).map((p) => `  if (x0 + ${p} < w) {
    setOutputAtIndex(out0 + ${p}, ${value(p)});
  }`).join(NEWLINE)}
}
`;
  }
}

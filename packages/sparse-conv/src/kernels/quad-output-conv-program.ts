import { type PyramidLayout, pyramidRows } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { cellLanesDispatch, cellLanesMainSnippet, NEWLINE, type PyramidRowGroups, pyramidRowGroups, range, rowWindowLoopSnippet } from './webgpu-snippets';

/**
 * A 'same' 3x3 conv from C channels (a multiple of 4) to 4, plus its bias, in one dispatch: a box
 * predictor's (l, t, r, b). The tiled GEMM computes output channels 64 at a time, so for 4 it
 * would do 16 times the work; here each output pixel's four channels are one vec4 accumulator.
 * Threads as in GateConvProgram: `pixels` adjacent output pixels of a row (a cell) read each X value
 * of their 3 x (pixels + 2) window once, and `lanes` neighbouring threads share a cell's channel
 * quads, adding their sums in workgroup memory. Inputs: X [B,H,W,C] (vec4), F [3,3,C,4] read as
 * vec4s (F[tap * C + c] holds channel c's weights of the four outputs), Bias [4] (vec4). Output
 * [B,H,W,4]; with `pyramid`, X is a packed pyramid (read as [1, P, 1, C]), each level's taps kept to
 * it, and the output [P, 4].
 */
export class QuadOutputConvProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly pixels: number;
  private readonly lanes: number;
  private readonly groups?: PyramidRowGroups;
  private readonly biased: boolean;
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * pixels: adjacent output pixels a thread computes; lanes: threads sharing a cell's channels (a
   * power of 2 up to 64); biased: the Bias input is bound (else no bias).
   */
  constructor(xShape: number[], pixels: number, lanes: number, biased: boolean, pyramid?: PyramidLayout) {
    const [b, h, w] = xShape;
    this.pixels = pixels;
    this.lanes = lanes;
    this.biased = biased;
    this.variableNames = biased ? ['X', 'F', 'Bias'] : ['X', 'F'];
    this.variableComponents = this.variableNames.map(() => 4);
    if (pyramid) {
      const u = new ProgramUniforms();
      this.groups = pyramidRowGroups(u, pyramid, pixels);
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    this.outputShape = pyramid ? [pyramidRows(pyramid), 4] : [b, h, w, 4];
    this.shaderKey = `dynheadQuadOutputConv_${pixels}_${lanes}_${biased}_${pyramidShaderKey(pyramid)}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = cellLanesDispatch('QuadOutputConvProgram', pyramid ?? { shape: xShape }, pixels, lanes));
  }

  getUserCode(): string {
    const n = this.pixels;
    const lanes = this.lanes;
    const pixels = range(n);
    // per tap column kx: the four filter rows of quad q (its channels' weights of the four outputs)
    const taps = range(3)
      .map((kx) => `let f${kx}_0 = F[(ky * 3 + ${kx}) * cin + q * 4];
      let f${kx}_1 = F[(ky * 3 + ${kx}) * cin + q * 4 + 1];
      let f${kx}_2 = F[(ky * 3 + ${kx}) * cin + q * 4 + 2];
      let f${kx}_3 = F[(ky * 3 + ${kx}) * cin + q * 4 + 3];
      ${pixels.map((p) => `acc${p} = fma(vec4<f32>(x${p + kx}.x), f${kx}_0, fma(vec4<f32>(x${p + kx}.y), f${kx}_1, fma(vec4<f32>(x${p + kx}.z), f${kx}_2, fma(vec4<f32>(x${p + kx}.w), f${kx}_3, acc${p}))));`).join(NEWLINE + '      ')}`)
      .join(NEWLINE + '      ');
    const window = rowWindowLoopSnippet(
      n,
      'c4',
      `for (var q = ${lanes > 1 ? 'lane' : '0'}; q < c4; q += ${lanes}) {
      ${range(n + 2).map((i) => `let x${i} = select(vec4<f32>(0.0), X[at${i} + q], in${i});`).join(NEWLINE + '      ')}
      ${taps}
    }`,
    );
    const main = cellLanesMainSnippet({
      groups: this.groups ?? { shape: 'uniforms.xShape' },
      pixels: n,
      lanes,
      prelude: `let cin = uniforms.xShape[3];
  let c4 = cin / 4;
  ${pixels.map((p) => `var acc${p} = vec4<f32>(0.0);`).join(NEWLINE + '  ')}`,
      window,
      sumType: 'vec4<f32>',
      sums: pixels.map((p) => `acc${p}`),
      writes: (sum) =>
        pixels.map((p) => `  if (x0 + ${p} < w) {
    setOutputAtIndex(out0 + ${p}, ${sum(p)}${this.biased ? ' + Bias[0]' : ''});
  }`).join(NEWLINE),
    });
    return `
${main}
`;
  }
}

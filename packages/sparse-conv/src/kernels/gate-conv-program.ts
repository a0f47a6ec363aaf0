import { type PyramidLayout, pyramidRows } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { cellLanesDispatch, cellLanesMainSnippet, mapRunSnippet, NEWLINE, type PyramidRowGroups, pyramidRowGroups, range, rowWindowLoopSnippet } from './webgpu-snippets';

/**
 * Horizontally adjacent output pixels one thread computes by default: they share six columns of X,
 * not 4 x 3. SwiftShader takes 8 (webgpu-tuning.ts's DeviceTuning): a 52x84x256 gate 15-18 ->
 * 12-15 ms.
 */
export const GATE_CONV_PIXELS = 4;

/**
 * Threads that share a cell's channels on a GPU (1: a thread takes all of them; SwiftShader's form).
 * Lanes read neighbouring channel quads of the same pixels, each every lanes-th quad, and add their
 * sums in workgroup memory: a 256-channel gate has too few cells to fill a GPU otherwise. On an
 * H200 (2026-12-04) the 33 gate convs of a D8 Mid pass at 800x1333 took 3.7 -> 1.1 ms at batch 1
 * and 9.4 -> 4.4 ms at batch 8 (4 lanes: 7.0, 16: 4.0 at batch 8).
 */
export const GATE_CONV_LANES = 8;

/**
 * A spatial gate's conv in one dispatch: 'same' 3x3, C -> 1, one thread per `pixels` adjacent output
 * pixels of a row, reading each X value of their 3 x (pixels + 2) window once as vec4s (on
 * SwiftShader a 50x84x256 gate: 11 ms, 36 ms with one pixel a thread). tf.conv2d to one channel takes
 * an im2col and a matMul. Inputs: X [B,H,W,C] (C a multiple of 4), F [3,3,C,1]; with `activation`
 * (WGSL declaring `fn gateActivation(v : f32) -> f32`) also Bias [1], and the output is
 * gateActivation(conv + bias): the gate itself, without a dispatch of its own. Output [B,H,W,1].
 * With `pyramid`, X is a packed pyramid (pyramid.ts, read as [1, P, 1, C]), each level's taps kept
 * to it, and the output its gate [P, 1]: every level in one dispatch. With `filters` 2 (and an
 * activation), F1 and Bias1 follow: a second gate of the same X from the same reads (the scale
 * node's two path gates), written after the first ([2P, 1], or [2B,H,W,1]). With `towerRuns` (a
 * pyramid, 2 filters), F1 and Bias1 are a second tower's instead: a cell of run r (its (level,
 * image), level-major) takes the second set where (r / towerRuns) is odd, and the output is one
 * gate [P, 1] (two towers' depth gates in one dispatch, their maps stacked: towerRuns = L * B).
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

  private readonly filters: number;
  private readonly lanes: number;
  private readonly towerRuns?: string;

  /**
   * pixels: adjacent output pixels a thread computes; pyramid: X is packed so; filters: gates
   * computed (1 or 2); lanes: threads sharing a cell's channels (a power of 2 up to 64); towerRuns:
   * the two filters are two towers', each taking alternate blocks of that many runs.
   */
  constructor(xShape: number[], activation?: string, pixels = GATE_CONV_PIXELS, pyramid?: PyramidLayout, filters = 1, lanes = GATE_CONV_LANES, towerRuns?: number) {
    this.lanes = lanes;
    const [b, h, w] = xShape;
    if (!(filters === 1 || (filters === 2 && activation))) throw new Error(`GateConvProgram: 1 filter, or 2 with an activation; got ${filters}`);
    if (towerRuns !== undefined && !(pyramid && filters === 2 && Number.isInteger(towerRuns) && towerRuns > 0)) {
      throw new Error(`GateConvProgram: towerRuns (${towerRuns}) needs a pyramid, two filters and a positive whole number`);
    }
    this.activation = activation;
    this.pixels = pixels;
    this.filters = filters;
    if (pyramid) {
      const u = new ProgramUniforms();
      this.groups = pyramidRowGroups(u, pyramid, pixels);
      if (towerRuns !== undefined) this.towerRuns = u.add('towerRuns', towerRuns);
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    this.variableNames = activation ? ['X', 'F', 'Bias', ...(filters === 2 ? ['F1', 'Bias1'] : [])] : ['X', 'F'];
    this.variableComponents = this.variableNames.map((n) => (n.startsWith('Bias') ? 1 : 4));
    // the activation's code is part of the shader: programs with other constants are other shaders
    this.shaderKey = `${activation ? `dynheadGateConv3x3_${activation}` : 'dynheadGateConv3x3'}_${pixels}_${pyramidShaderKey(pyramid)}_${filters}_${lanes}${towerRuns === undefined ? '' : '_towers'}`;
    const planes = towerRuns === undefined ? filters : 1;
    this.outputShape = pyramid ? [planes * pyramidRows(pyramid), 1] : [planes * b, h, w, 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = cellLanesDispatch('GateConvProgram', pyramid ?? { shape: xShape }, pixels, lanes));
  }

  getUserCode(): string {
    const n = this.pixels;
    const lanes = this.lanes;
    const towers = this.towerRuns !== undefined;
    // towers: one gate, its filter the cell's tower's (tw, in the prelude)
    const outs = range(towers ? 1 : this.filters);
    // filter j's names: F, Bias, then F1, Bias1
    const suffix = (j: number) => (j === 0 ? '' : `${j}`);
    const read = (name: string, j: number, at: string) => (towers ? `select(${name}[${at}], ${name}1[${at}], tw)` : `${name}${suffix(j)}[${at}]`);
    const value = (sum: string, j: number) => (this.activation ? `gateActivation((${sum}) + f32(${read('Bias', j, '0')}))` : sum);
    const window = rowWindowLoopSnippet(
      n,
      'c4',
      `for (var q = ${lanes > 1 ? 'lane' : '0'}; q < c4; q += ${lanes}) {
      ${range(n + 2).map((i) => `let x${i} = select(vec4<f32>(0.0), X[at${i} + q], in${i});`).join(NEWLINE + '      ')}
      ${outs
        .map(
          (j) => `let f0_${j} = ${read('F', j, '(ky * 3) * c4 + q')};
      let f1_${j} = ${read('F', j, '(ky * 3 + 1) * c4 + q')};
      let f2_${j} = ${read('F', j, '(ky * 3 + 2) * c4 + q')};
      ${range(n).map((p) => `acc${p}_${j} = fma(x${p}, f0_${j}, fma(x${p + 1}, f1_${j}, fma(x${p + 2}, f2_${j}, acc${p}_${j})));`).join(NEWLINE + '      ')}`,
        )
        .join(NEWLINE + '      ')}
    }`,
    );
    const accs = outs.flatMap((j) => range(n).map((p) => `var acc${p}_${j} = vec4<f32>(0.0);`)).join(NEWLINE + '  ');
    const planeDecl = outs.length > 1
      ? `  // a second gate's map follows the first's
  let plane = ${this.groups ? this.groups.levels.starts[this.groups.levels.starts.length - 1] : 'uniforms.xShape[0] * h * w'};
`
      : '';
    // sum j * n + p: filter j at the cell's pixel p
    const main = cellLanesMainSnippet({
      groups: this.groups ?? { shape: 'uniforms.xShape' },
      pixels: n,
      lanes,
      prelude: `let c4 = uniforms.xShape[3] / 4;
  ${accs}${towers ? `
  // the cell's tower: its run (level, image) in alternate blocks of towerRuns
  let tw = (mapRun(mapBase + (b * h + y) * w + x0) / ${this.towerRuns}) % 2 == 1;` : ''}`,
      window,
      sumType: 'f32',
      sums: outs.flatMap((j) => range(n).map((p) => `acc${p}_${j}.x + acc${p}_${j}.y + acc${p}_${j}.z + acc${p}_${j}.w`)),
      writes: (sum) =>
        planeDecl +
        outs.flatMap((j) => range(n).map((p) => `  if (x0 + ${p} < w) {
    setOutputAtIndex(${j === 0 ? '' : `${j} * plane + `}out0 + ${p}, ${value(sum(j * n + p), j)});
  }`)).join(NEWLINE),
    });
    return `
${this.activation ?? ''}
${towers && this.groups ? mapRunSnippet(this.groups.levels) : ''}

${main}
`;
  }
}

import type { WebGPUProgramLike } from './masked-conv-program';
import { levelRowStarts, type PyramidLayout, type PyramidLevels, pyramidRows, scalePathsLayout } from '../pyramid';
import { ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { channelQuadsLoopSnippet, channelQuadsSnippet, elementwiseDispatch, type Lanes, laneType, NEWLINE, type PyramidRowGroups, pyramidRowGroups, range, rowGroups, rowGroupSnippet, rowWindowLoopSnippet } from './webgpu-snippets';

/**
 * Horizontally adjacent pixels a DepthwiseMapProgram thread computes by default: they share six
 * columns of X, not 4 x 3. SwiftShader's threads also loop over channel quads
 * (webgpu-tuning.ts's DeviceTuning).
 */
export const DEPTHWISE_MAP_PIXELS = 4;

/**
 * The depthwise source written out as a map [R, C], for big maps (webgpu-tuning.ts's DeviceTuning:
 * over one chunk on GPUs, where the partials and apply programs would each compute the nine taps;
 * at every size on SwiftShader). One more dispatch, the taps computed once.
 * A thread takes `pixels` adjacent pixels of a row and k channels, reading each X value of their
 * 3 x (pixels + 2) window once (on SwiftShader a 50x84x256 map: 63 ms with one pixel a thread).
 */
export class DepthwiseMapProgram implements WebGPUProgramLike {
  variableNames = ['X', 'DwFilter'];
  /**
   * pair mode (the second path's filter and both biases bound, the biases added here so that
   * GroupNorm binds two norms, not two biases too): path 1's first output row, a WGSL expression
   */
  private readonly secondFrom?: string;
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly lanes: Lanes;
  private readonly pixels: number;
  private readonly quads: number;
  private readonly groups?: PyramidRowGroups & { readOffset: string };
  uniforms?: string;
  uniformData?: UniformData;

  /**
   * xShape: the map [B,H,W,C] the conv reads; pixels: adjacent pixels a thread computes; quads:
   * consecutive groups of `lanes` channels it takes in turn. pyramid: X is a packed pyramid (read
   * as [1, P, 1, C]) and the conv is of the levels `layout` describes, which X holds from row
   * `firstRow` on: output [their rows, C]. pair: X is the packed pyramid of this layout, and the
   * output both scale paths with their biases: path 0 (DwFilter, DwBias) on levels 0 .. L-2, then
   * path 1 (DwFilter1, DwBias1) on levels 1 .. L-1, the rows of scalePathsPyramid.
   */
  constructor(xShape: number[], lanes: Lanes, pixels = DEPTHWISE_MAP_PIXELS, quads = 1, pyramid?: PyramidLevels, pair?: PyramidLayout) {
    const c = xShape[3];
    this.pixels = pixels;
    this.quads = quads;
    // the levels written, one after another: path 1's read from level 1 on, path 0's from level 0
    const written = pair ? scalePathsLayout(pair) : pyramid?.layout;
    if (pair && written) {
      const u = new ProgramUniforms();
      const starts = levelRowStarts(pair);
      const secondOut = starts[pair.sizes.length - 1];
      const groups = pyramidRowGroups(u, written, pixels);
      const [read, out] = [u.add('pairRead', starts[1] - secondOut), u.add('pairOut', secondOut)];
      this.groups = { ...groups, readOffset: `select(0, ${read}, mapBase >= ${out})` };
      this.secondFrom = out;
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
      this.variableNames = ['X', 'DwFilter', 'DwFilter1', 'DwBias', 'DwBias1'];
    } else if (pyramid) {
      const u = new ProgramUniforms();
      this.groups = { ...pyramidRowGroups(u, pyramid.layout, pixels), readOffset: u.add('pyrRead', pyramid.firstRow) };
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    this.variableComponents = this.variableNames.map(() => lanes);
    this.outputComponent = lanes;
    this.outputShape = [written ? pyramidRows(written) : xShape[0] * xShape[1] * xShape[2], c];
    this.lanes = lanes;
    this.shaderKey = `dynheadDepthwiseMap_${lanes}_${pixels}_${quads}_${pyramidShaderKey(pyramid?.layout)}${pair ? `_pair${pyramidShaderKey(pair)}` : ''}`;
    const groups = rowGroups(written ?? { shape: xShape }, pixels).reduce((a, v) => a + v, 0);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch([groups * Math.ceil(c / lanes / quads)]));
  }

  getUserCode(): string {
    const T = laneType(this.lanes);
    const n = this.pixels;
    const pixels = range(n);
    const columns = range(n + 2);
    // pair mode: the path's filter and bias, path 1 from its output rows on
    const paired = this.secondFrom !== undefined;
    const filterAt = (i: string) => (paired ? `dwFilterAt(second, ${i})` : `${T}(DwFilter[${i}])`);
    const biasOf = (acc: string) => (paired ? `${acc} + dwBiasAt(second, q)` : acc);
    const pairFns = paired
      ? `fn dwFilterAt(second : bool, i : i32) -> ${T} {
  if (second) {
    return ${T}(DwFilter1[i]);
  }
  return ${T}(DwFilter[i]);
}

fn dwBiasAt(second : bool, q : i32) -> ${T} {
  if (second) {
    return ${T}(DwBias1[q]);
  }
  return ${T}(DwBias[q]);
}`
      : '';
    return `
${pairFns}

fn main(index : i32) {
  let cq = uniforms.xShape[3] / ${this.lanes};
  ${channelQuadsSnippet('cell', 'cq', this.quads)}
  ${rowGroupSnippet(this.groups ?? { shape: 'uniforms.xShape' }, n, 'cell', this.groups?.readOffset)}
  if (index >= cells * qBlocks) {
    return;
  }
  ${paired ? `let second = mapBase >= ${this.secondFrom};` : ''}
  let row0 = mapBase + (b * h + y) * w + x0;
  ${channelQuadsLoopSnippet(
    'cq',
    this.quads,
    `${pixels.map((p) => `var acc${p} = ${T}(0.0);`).join(NEWLINE + '    ')}
    ${rowWindowLoopSnippet(
      n,
      'cq',
      `${columns.map((i) => `let v${i} = select(${T}(0.0), ${T}(X[at${i} + q]), in${i});`).join(NEWLINE + '      ')}
      let f0 = ${filterAt('(ky * 3) * cq + q')};
      let f1 = ${filterAt('(ky * 3 + 1) * cq + q')};
      let f2 = ${filterAt('(ky * 3 + 2) * cq + q')};
      ${pixels.map((p) => `acc${p} = fma(v${p + 2}, f2, fma(v${p + 1}, f1, fma(v${p}, f0, acc${p})));`).join(NEWLINE + '      ')}`,
    )}
    ${pixels.map((p) => `if (x0 + ${p} < w) {
      setOutputAtIndex((row0 + ${p}) * cq + q, ${biasOf(`acc${p}`)});
    }`).join(NEWLINE + '    ')}`,
  )}
}
`;
  }
}

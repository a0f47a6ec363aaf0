import { levelRowStarts, type PyramidLayout, pyramidRows, scalePathsLayout, stackedLayout } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { cellLanesDispatch, cellLanesMainSnippet, NEWLINE, type PyramidRowGroups, pyramidRowGroups, range } from './webgpu-snippets';

/**
 * Rows of C values the two gates [2P] (of each of `towers` scale nodes) take at the head of
 * ScalePathsGatesProgram's output: a vec4 each (the gate in x, so that the program writes only
 * vec4s), padded to whole rows, so that the paths' maps after them start on a row.
 */
export function pathGateRows(layout: PyramidLayout, channels: number, towers = 1): number {
  return Math.ceil((4 * 2 * towers * pyramidRows(layout)) / channels);
}

/**
 * Rows of C values the two gates (of each of `towers` scale nodes) take once carried out of that
 * head, one value each (the gates tensor the cost charge keeps): the head of the small buffer of
 * the paths' statistics.
 */
export function carriedGateRows(layout: PyramidLayout, channels: number, towers = 1): number {
  return Math.ceil((2 * towers * pyramidRows(layout)) / channels);
}

/**
 * Where ScalePathsGatesProgram and BlendPyramidProgram run one scale node of each of two towers at
 * once: X holds tower 1's input from row xRow1 on (0 when both read the features).
 */
export interface TwoTowers {
  xRow1: number;
}

/**
 * A scale node's two path gates and both paths' depthwise convs in one dispatch that reads X once
 * for all four: for every level of a packed pyramid X [P, C] (C a multiple of 4), gate j =
 * gateActivation(conv3x3(X, gate filter j) + its bias) at every pixel, and, as the same window is
 * read, the finer path's depthwise conv (+ bias) on levels 0 .. L-2 and the coarser's on 1 .. L-1
 * (the rows of scalePathsPyramid, before GroupNorm). Output [pathGateRows + the paths' rows, C]
 * as vec4s: the two gates' P values each (the finer's first, as GateConvProgram writes them), one
 * vec4 a gate (its x), then the paths' map. Threads as the gate conv's: cells of `pixels` adjacent pixels,
 * `lanes` threads sharing a cell's channel quads (each every lanes-th quad, writing its quads of
 * the paths as it goes), their gate sums added in workgroup memory in lane order. Inputs: X (as
 * [1, P, 1, C]), the gates' filters GateF, GateF1 and the paths' DwF, DwF1 ([3,3,C,1] each), and
 * Biases [2C + 4] (the finer path's bias, the coarser's, then the two gates' biases). Saves the gate conv's dispatch and its read of X.
 *
 * With `towers`, the same scale node of two towers (a block of each) in the one dispatch, each cell
 * taking its tower's weights: tower 1's input from X's row towers.xRow1 on, the filters two each
 * (tower 0's, then tower 1's), Biases [4C + 4] (tower 0's two path biases, tower 1's, then the
 * four gate biases in one vec4: tower 0's two, tower 1's two). Output [pathGateRows(layout, C, 2)
 * + 2 x the paths' rows, C]: the four gates (tower 0's finer and coarser, tower 1's), then tower
 * 0's paths, then tower 1's: the paths' runs level-major within each tower, as one GroupNorm of
 * both takes them.
 */
export class ScalePathsGatesProgram implements WebGPUProgramLike {
  variableNames = ['X', 'GateF', 'GateF1', 'DwF', 'DwF1', 'Biases'];
  variableComponents = [4, 4, 4, 4, 4, 4];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms?: string;
  uniformData?: UniformData;
  private readonly activation: string;
  private readonly pixels: number;
  private readonly lanes: number;
  private readonly levels: number;
  private readonly groups: PyramidRowGroups;
  private readonly gateRows: string;
  private readonly finerRows: string;
  private readonly xRow0: string;
  private readonly towers?: { xRow1: string; mapRows: string };

  constructor(layout: PyramidLayout, channels: number, activation: string, pixels: number, lanes: number, xRow0 = 0, towers?: TwoTowers) {
    if (layout.sizes.length < 2) throw new Error('ScalePathsGatesProgram: a pyramid of at least two levels');
    if (channels % 4 !== 0) throw new Error(`ScalePathsGatesProgram: channels must be a multiple of 4, got ${channels}`);
    this.activation = activation;
    this.pixels = pixels;
    this.lanes = lanes;
    this.levels = layout.sizes.length;
    const u = new ProgramUniforms();
    // two towers: cells over both towers' levels, as one pyramid of 2L levels (the second tower's from row P on)
    const cells = towers ? stackedLayout(layout, layout) : layout;
    this.groups = pyramidRowGroups(u, cells, pixels);
    const gateRows = pathGateRows(layout, channels, towers ? 2 : 1);
    this.gateRows = u.add('gateRows', gateRows);
    // the finer path's rows: levels 0 .. L-2, the coarser's after them
    this.finerRows = u.add('finerRows', levelRowStarts(layout)[this.levels - 1]);
    // X's rows before the pyramid's (a tower's rows in both towers' stacked maps): a uniform, so one shader serves any
    this.xRow0 = u.add('xRow0', xRow0);
    const mapRows = pyramidRows(scalePathsLayout(layout));
    if (towers) this.towers = { xRow1: u.add('xRow1', towers.xRow1), mapRows: u.add('mapRows', mapRows) };
    [this.uniforms, this.uniformData] = [u.declaration, u.data];
    this.outputShape = [gateRows + (towers ? 2 : 1) * mapRows, channels];
    this.shaderKey = `dynheadScalePathsGates_${activation}_${pixels}_${lanes}_${pyramidShaderKey(layout)}${towers ? '_towers' : ''}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = cellLanesDispatch('ScalePathsGatesProgram', cells, pixels, lanes));
  }

  getUserCode(): string {
    const n = this.pixels;
    const lanes = this.lanes;
    const L = this.levels;
    const { starts } = this.groups.levels;
    const columns = range(n + 2);
    // path s's value at the cell's pixel p, written at its row's quad q
    const write = (s: number, row: string) =>
      range(n)
        .map((p) => `if (x0 + ${p} < w) {
          setOutputAtIndex((${row} + ${p}) * c4 + q, d${p}_${s} + bias${s});
        }`)
        .join(NEWLINE + '        ');
    const window = `for (var q = ${lanes > 1 ? 'lane' : '0'}; q < c4; q += ${lanes}) {
      ${range(n).map((p) => `var d${p}_0 = vec4<f32>(0.0);
      var d${p}_1 = vec4<f32>(0.0);`).join(NEWLINE + '      ')}
      for (var ky = 0; ky < 3; ky++) {
        let yy = y + ky - 1;
        if (yy < 0 || yy >= h) {
          continue;
        }
        let rowBase = xBase + (b * h + yy) * w;
        ${columns.map((i) => `let v${i} = select(vec4<f32>(0.0), X[(rowBase + clamp(x0 + ${i - 1}, 0, w - 1)) * c4 + q], x0 + ${i - 1} >= 0 && x0 + ${i - 1} < w);`).join(NEWLINE + '        ')}
        ${['GateF', 'GateF1'].map((g, j) => `${range(3).map((k) => `let f${k}_${j} = ${g}[fBase + (ky * 3 + ${k}) * c4 + q];`).join(NEWLINE + '        ')}
        ${range(n).map((p) => `acc${p}_${j} = fma(v${p}, f0_${j}, fma(v${p + 1}, f1_${j}, fma(v${p + 2}, f2_${j}, acc${p}_${j})));`).join(NEWLINE + '        ')}`).join(NEWLINE + '        ')}
        ${['DwF', 'DwF1'].map((d, s) => `if (${s === 0 ? 'hasFiner' : 'hasCoarser'}) {
          ${range(3).map((k) => `let e${k} = ${d}[fBase + (ky * 3 + ${k}) * c4 + q];`).join(NEWLINE + '          ')}
          ${range(n).map((p) => `d${p}_${s} = fma(v${p + 2}, e2, fma(v${p + 1}, e1, fma(v${p}, e0, d${p}_${s})));`).join(NEWLINE + '          ')}
        }`).join(NEWLINE + '        ')}
      }
      if (hasFiner) {
        let bias0 = Biases[bBase + q];
        ${write(0, 'finerRow0')}
      }
      if (hasCoarser) {
        let bias1 = Biases[bBase + c4 + q];
        ${write(1, 'coarserRow0')}
      }
    }`;
    const accs = range(2).flatMap((j) => range(n).map((p) => `var acc${p}_${j} = vec4<f32>(0.0);`)).join(NEWLINE + '  ');
    // the cell's level: the finer path is written on levels 0 .. L-2, the coarser on 1 .. L-1
    const towers = this.towers;
    // two towers: the cell's level among both towers' 2L, then its tower and its level in it
    const level = range((towers ? 2 : 1) * L - 1).map((l) => `if (mapBase >= ${starts[l + 1]}) {
    lvl = ${l + 1};
  }`).join(NEWLINE + '  ');
    const tower = towers
      ? `let t = select(0, 1, lvl >= ${L});
  lvl -= t * ${L};
  // the cell's first row in its tower's pyramid; its tower's weights' first quads
  let towerBase = mapBase - t * ${starts[L]};
  let xBase = select(${this.xRow0}, ${towers.xRow1}, t == 1) + towerBase;
  let pathsBase = ${this.gateRows} + t * ${towers.mapRows};
  let fBase = t * 9 * c4;
  let bBase = t * 2 * c4;`
      : `let t = 0;
  let towerBase = mapBase;
  let xBase = ${this.xRow0} + mapBase;
  let pathsBase = ${this.gateRows};
  let fBase = 0;
  let bBase = 0;`;
    const coarserStart = `(${this.finerRows} + towerBase - ${starts[1]})`;
    const main = cellLanesMainSnippet({
      groups: this.groups,
      pixels: n,
      lanes,
      prelude: `let c4 = uniforms.xShape[3] / 4;
  let chans = c4 * 4;
  var lvl = 0;
  ${level}
  ${tower}
  let hasFiner = lvl < ${L - 1};
  let hasCoarser = lvl > 0;
  let cellRow = (b * h + y) * w + x0;
  let finerRow0 = pathsBase + towerBase + cellRow;
  let coarserRow0 = pathsBase + ${coarserStart} + cellRow;
  ${accs}`,
      window,
      sumType: 'f32',
      sums: range(2).flatMap((j) => range(n).map((p) => `acc${p}_${j}.x + acc${p}_${j}.y + acc${p}_${j}.z + acc${p}_${j}.w`)),
      writes: (sum) => {
        // the gate biases' vec4 after the paths' biases: two for each tower
        const gateBiases = `Biases[${towers ? 4 : 2} * (uniforms.xShape[3] / 4)]`;
        // gate j of tower t: plane 2t + j of the gates' head (out0 counts the towers' pixels before it)
        return `  let gateBias = ${towers ? `select(${gateBiases}.xy, ${gateBiases}.zw, t == 1)` : `${gateBiases}.xy`};
  let plane = ${starts[L]};
${range(2).flatMap((j) => range(n).map((p) => `  if (x0 + ${p} < w) {
    setOutputAtIndex(${towers ? `(t + ${j}) * plane + ` : j === 0 ? '' : 'plane + '}out0 + ${p}, vec4<f32>(gateActivation(${sum(j * n + p)} + gateBias.${j === 0 ? 'x' : 'y'}), 0.0, 0.0, 0.0));
  }`)).join(NEWLINE)}`;
      },
    });
    return `
${this.activation}

${main}
`;
  }
}

import { type PyramidLayout, pyramidRows, scalePathsLayout } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { type LevelExprs, levelUniforms, ProgramUniforms, pyramidShaderKey, type UniformData } from './pyramid-uniforms';
import { groupMomentsSnippet } from './group-norm-snippets';
import type { TwoTowers } from './scale-paths-gates-program';
import { bilinearAddSnippet, channelQuadsLoopSnippet, channelQuadsSnippet, elementwiseDispatch, f32Literal, type Lanes, laneType, NEWLINE, sourceCoordSnippet } from './webgpu-snippets';

/** WGSL: a function of the level l returning, per level, the expression `values(l)` (an if chain). */
function perLevel(name: string, type: string, levels: number, values: (l: number) => string): string {
  const chain = Array.from({ length: levels - 1 }, (_, i) => `if (l == ${i + 1}) {
    v = ${values(i + 1)};
  }`).join(NEWLINE + '  ');
  return `fn ${name}(l : i32) -> ${type} {
  var v = ${values(0)};
  ${chain}
  return v;
}`;
}

/**
 * The scale node's combine for every level of a packed pyramid in one dispatch: level l of the
 * output is X_l * XWeight + (finer' + coarser') * SourceWeight, where finer' is level l - 1 of
 * the finer path times its gate, resized to level l, and coarser' level l + 1 of the coarser path
 * times its gate, resized likewise (bilinear, align corners, as BlendResizedProgram samples); the
 * first level has no finer source, the last no coarser one. Inputs: X [P, C] (the layout's rows),
 * XWeight [1], Paths [rows of levels 0 .. L-2, then of levels 1 .. L-1, C] (the finer path, then
 * the coarser), Gates [2P, 1] (the finer path's gate, then the coarser's), SourceWeight [1]: the
 * gates multiply the paths' values as they are sampled (a tap whose gate is 0 is not read), the
 * product their GroupNorm would have written. With `affine`, Paths holds the paths' convs before
 * their GroupNorm and a last input Affine [runs, 2, C] each run's scale and shift (runs as
 * segmentRowStarts numbers the paths' layout: the finer path's (level, image) runs, then the
 * coarser's): a sampled value is (value * scale + shift) * gate, so the normalised paths are never
 * written. With `headRows`, Paths and Affine (or Partials) hold their values from those rows (of C
 * values) on (SCALE_PATHS_GATES's outputs, the gates first). Output [P, C].
 *
 * With `towers`, the same scale node of two towers at once, as ScalePathsGatesProgram's towers
 * form writes them: tower 1's input from X's row towers.xRow1 on, Paths tower 0's paths then tower
 * 1's, Gates [4P, 1] (tower 0's two, then tower 1's), their runs (Affine or Partials) tower 0's
 * then tower 1's, XWeight and SourceWeight [2] and Norms [8C] a value or set for each tower, in
 * tower order. Output [2P, C], tower 0's blend then tower 1's: both towers' maps stacked.
 */
export class BlendPyramidProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly layout: PyramidLayout;
  private readonly levels: LevelExprs;
  uniforms?: string;
  uniformData?: UniformData;
  private readonly lanes: Lanes;
  private readonly quads: number;
  private readonly affine: boolean;
  private readonly statistics?: Omit<BlendStatistics, 'chunks'> & { chunks: string };

  private readonly headRows: { paths: string; stats: string };

  private readonly xRow0: string;
  private readonly towers?: { xRow1: string; mapRows: string };

  /**
   * quads: groups of `lanes` channels of its pixel a thread takes in turn (the sampling worked out
   * once for all). statistics (with affine): the paths' GroupNorm comes as its chunk sums, not as
   * Affine: Partials (GroupNormPartialsProgram's, from vec4 headRows.stats * C / 4 on) and Norms [4C]
   * (the finer path's gamma and beta, then the coarser's), each sampled run's scale and shift worked
   * out here as GroupNormCombineProgram works them out (the same numbers, a dispatch fewer).
   */
  constructor(layout: PyramidLayout, channels: number, quads = 1, affine = false, headRows = { paths: 0, stats: 0 }, statistics?: BlendStatistics, xRow0 = 0, towers?: TwoTowers) {
    if (layout.sizes.length < 2) throw new Error('BlendPyramidProgram: a pyramid of at least two levels');
    if (statistics && !(affine && blendCombinesFor(channels, statistics.groups))) throw new Error(`BlendPyramidProgram: statistics need the paths as their convs and channels of a group in fours (${channels} channels, ${statistics.groups} groups)`);
    this.layout = layout;
    this.affine = affine;
    this.variableNames = ['X', 'XWeight', 'Paths', 'Gates', 'SourceWeight', ...(statistics ? ['Partials', 'Norms'] : affine ? ['Affine'] : [])];
    const u = new ProgramUniforms();
    this.levels = levelUniforms(u, layout, 'pyr');
    this.headRows = { paths: u.add('pathsHead', headRows.paths), stats: u.add('statsHead', headRows.stats) };
    // X's rows before the pyramid's (a tower's rows in both towers' stacked maps): a uniform, so one shader serves any
    this.xRow0 = u.add('xRow0', xRow0);
    if (towers) this.towers = { xRow1: u.add('xRow1', towers.xRow1), mapRows: u.add('mapRows', pyramidRows(scalePathsLayout(layout))) };
    if (statistics) this.statistics = { ...statistics, chunks: u.add('chunks', statistics.chunks) };
    [this.uniforms, this.uniformData] = [u.declaration, u.data];
    this.lanes = channels % 4 === 0 ? 4 : 1;
    this.variableComponents = this.variableNames.map((n) => (n.endsWith('Weight') || n === 'Gates' ? 1 : n === 'Partials' ? 4 : this.lanes));
    this.outputComponent = this.lanes;
    const rows = (towers ? 2 : 1) * pyramidRows(layout);
    this.outputShape = [rows, channels];
    this.quads = quads;
    const stats = statistics ? `_${statistics.groups}_${f32Literal(statistics.eps)}` : '';
    this.shaderKey = `dynheadBlendPyramid_${pyramidShaderKey(layout)}_${this.lanes}_${quads}_${affine}${stats}${towers ? '_towers' : ''}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch([rows * Math.ceil(channels / this.lanes / quads)]));
  }

  getUserCode(): string {
    const k = this.lanes;
    const T = laneType(k);
    const levels = this.layout.sizes.length;
    const { starts, heights, widths } = this.levels;
    // level l's first row in Paths: the finer path's levels 0 .. L-2, then the coarser's 1 .. L-1
    const finerStart = (l: number) => starts[Math.min(l, levels - 2)];
    const coarserStart = (l: number) => `(${starts[levels - 1]} + ${starts[Math.max(l, 1)]} - ${starts[1]})`;
    // each path's gate over every level: the coarser's after the finer's
    const gateStart = { Finer: '0', Coarser: starts[levels] };
    // each path's run of image n at the level it is sampled from: the finer path's levels 0 .. L-2
    // come first, then the coarser's 1 .. L-1 (images: the first level's rows over its pixels)
    const runOf = { Finer: '(max(l - 1, 0) * images + n)', Coarser: `((${levels - 1} + min(l, ${levels - 2})) * images + n)` };
    // per source: level s's taps around (y, x) of level l, and their weights, once per pixel
    const sampling = (name: string, s: string) => `let g${name} = geometry(${s});
    let sy${name} = sourceCoord(y, g${name}.x, h);
    let sx${name} = sourceCoord(x, g${name}.y, w);
    let y0${name} = i32(floor(sy${name}));
    let x0${name} = i32(floor(sx${name}));
    let y1${name} = min(g${name}.x - 1, i32(ceil(sy${name})));
    let x1${name} = min(g${name}.y - 1, i32(ceil(sx${name})));
    let fy${name} = sy${name} - f32(y0${name});
    let fx${name} = sx${name} - f32(x0${name});
    let row0${name} = (n * g${name}.x + y0${name}) * g${name}.y;
    let row1${name} = (n * g${name}.x + y1${name}) * g${name}.y;
    let at${name} = vec4<i32>(row0${name} + x0${name}, row0${name} + x1${name}, row1${name} + x0${name}, row1${name} + x1${name});
    let values${name} = (pathsBase + ${name.toLowerCase()}Start(${s}) + at${name}) * c;
    let gateAt${name} = gatesBase + ${gateStart[name as keyof typeof gateStart]} + g${name}.z + at${name};
    let gates${name} = vec4<f32>(Gates[gateAt${name}.x], Gates[gateAt${name}.y], Gates[gateAt${name}.z], Gates[gateAt${name}.w]);${this.statistics ? `
    let run${name} = runsBase + ${runOf[name as keyof typeof runOf]};
    var group${name} = -1;
    var moments${name} = vec3<f32>(0.0);` : this.affine ? `
    let affine${name} = (${this.headRows.stats} + (runsBase + ${runOf[name as keyof typeof runOf]}) * 2) * c;` : ''}`;
    // a path's value at a tap, normalised here when the paths come as their convs
    const value = (name: string, tap: string) => (this.affine ? `fma(${T}(Paths[values${name}.${tap} + q]), scale${name}, shift${name})` : `${T}(Paths[values${name}.${tap} + q])`);
    // a tap whose gate is off adds nothing: its value is not read (a pixel's threads agree, so
    // where all four are off the path costs no reads at all)
    const tap = (name: string, t: string, v: string) => `var ${v} = ${T}(0.0);
          if (gates${name}.${t} != 0.0) {
            ${v} = ${value(name, t)} * gates${name}.${t};
          }`;
    // the path's GroupNorm at quad q: from Affine, or worked out from its run's chunk sums (once per group)
    const norm = (name: string, path: number) =>
      this.statistics
        ? `if (q / gq != group${name}) {
            group${name} = q / gq;
            moments${name} = groupMoments(run${name}, group${name});
          }
          let scale${name} = Norms[(normsBase + ${2 * path}) * c + q] / moments${name}.z;
          let shift${name} = (-moments${name}.y - moments${name}.x) * scale${name} + Norms[(normsBase + ${2 * path + 1}) * c + q];`
        : `let scale${name} = ${T}(Affine[affine${name} + q]);
          let shift${name} = ${T}(Affine[affine${name} + c + q]);`;
    const sample = (name: string) => `if (any(gates${name} != vec4<f32>(0.0))) {
          ${this.affine ? norm(name, name === 'Finer' ? 0 : 1) : ''}
          ${tap(name, 'x', 'tl')}
          ${tap(name, 'y', 'tr')}
          ${tap(name, 'z', 'bl')}
          ${tap(name, 'w', 'br')}
          ${bilinearAddSnippet(name)}
        }`;
    const stats = this.statistics;
    const towers = this.towers;
    // the slot's tower and pixel in it, where its input, paths, gates and weights lie
    const towerOf = towers
      ? `let t = select(0, 1, slot >= ${starts[levels]});
    let pixel = slot - t * ${starts[levels]};
    let xRow = select(${this.xRow0}, ${towers.xRow1}, t == 1);
    let pathsBase = ${this.headRows.paths} + t * ${towers.mapRows};
    let gatesBase = t * 2 * ${starts[levels]};
    let normsBase = t * 4;`
      : `let t = 0;
    let pixel = slot;
    let xRow = ${this.xRow0};
    let pathsBase = ${this.headRows.paths};
    let gatesBase = 0;
    let normsBase = 0;`;
    return `
${sourceCoordSnippet(true)}

${stats ? groupMomentsSnippet(stats.eps, stats.groups, stats.chunks, `${this.headRows.stats} * (uniforms.xShape[1] / 4)`) : ''}

${perLevel('geometry', 'vec3<i32>', levels, (l) => `vec3<i32>(${heights[l]}, ${widths[l]}, ${starts[l]})`)}

${perLevel('finerStart', 'i32', levels, finerStart)}

${perLevel('coarserStart', 'i32', levels, coarserStart)}

fn main(index : i32) {
  let c = uniforms.xShape[1] / ${k};${this.statistics ? `
  let gq = c / ${this.statistics.groups};` : ''}
  ${channelQuadsSnippet('slot', 'c', this.quads)}
  if (index < ${towers ? 2 : 1} * ${starts[levels]} * qBlocks) {
    ${towerOf}
    var l = 0;
    ${range1(levels).map((j) => `if (pixel >= ${starts[j]}) {
      l = ${j};
    }`).join(NEWLINE + '    ')}
    let g = geometry(l);
    let h = g.x;
    let w = g.y;
    let r = pixel - g.z;
    let n = r / (h * w);${this.affine ? `
    let images = ${starts[1]} / (${heights[0]} * ${widths[0]});
    // the tower's paths' runs: tower 0's finer and coarser, then tower 1's
    let runsBase = t * ${2 * (levels - 1)} * images;` : ''}
    let y = (r / w) % h;
    let x = r % w;
    // a level's sources exist on the inner side: the clamped level only keeps the reads in bounds
    ${sampling('Finer', 'max(l - 1, 0)')}
    ${sampling('Coarser', `min(l + 1, ${levels - 1})`)}
    ${channelQuadsLoopSnippet(
      'c',
      this.quads,
      `var sum = ${T}(0.0);
      if (l > 0) {
        ${sample('Finer')}
      }
      if (l < ${levels - 1}) {
        ${sample('Coarser')}
      }
      setOutputAtIndex(slot * c + q, sum * SourceWeight[t] + X[(xRow + pixel) * c + q] * XWeight[t]);`,
    )}
  }
}
`;
  }
}

/** 1 .. n - 1. */
function range1(n: number): number[] {
  return Array.from({ length: n - 1 }, (_, i) => i + 1);
}

/** How BlendPyramidProgram works out the paths' GroupNorm from their chunk sums (its `statistics`). */
export interface BlendStatistics {
  groups: number;
  eps: number;
  /** the chunks of each (run, group) in Partials */
  chunks: number;
}

/** Whether the blend can work out a GroupNorm of these channels and groups from its sums: a group's channels in whole quads. */
export function blendCombinesFor(channels: number, groups: number): boolean {
  return channels % 4 === 0 && (channels / 4) % groups === 0;
}

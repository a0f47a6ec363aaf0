// GroupNorm's normalizing passes on a GPU: the apply pass (after a combine), the normalize pass
// that combines the chunk sums as it applies them, and the one-pass program for runs that fit a chunk.
import type { WebGPUProgramLike } from './masked-conv-program';
import { levelName, ProgramUniforms, type UniformData } from './pyramid-uniforms';
import {
  channelQuadsLoopSnippet,
  channelQuadsSnippet,
  elementwiseDispatch,
  f32Literal,
  type Lanes,
  laneType,
  NEWLINE,
} from './webgpu-snippets';
import { type ApplyOptions, type GroupNormSource, KEPT_X, type RowExprs, type StatsOptions, applyKey, applySnippet, applyVariables, groupMomentsSnippet, isActiveSnippet, keepsX, laneComponents, momentsAffine, momentsSnippet, normParams, pairUniforms, sourceKey, sourceVariables, statsProgramHead, statsShaderKey, xAtSnippet } from './group-norm-snippets';

/**
 * What an apply step's thread reads of its row once for all its channels, as applySnippet's
 * reads: the compact form's list entry `src` (its source row, or -1 off the mask), the row scale
 * and the gate, which rowPrologueSnippet declares.
 */
function rowReads(source: GroupNormSource, k: Lanes): Partial<RowExprs> {
  return {
    ...(typeof source !== 'string' ? { x: `select(${laneType(k)}(0.0), activeX(max(src, 0), q), src >= 0)`, active: 'src >= 0' } : {}),
    rowScale: 'rowScale',
    gate: 'gate',
  };
}

/** WGSL declaring what rowReads reads of the row (`row` in scope). */
function rowPrologueSnippet(source: GroupNormSource, post: ApplyOptions): string {
  return `${typeof source !== 'string' ? 'let src = listAt(1 + listPixels() + row);' : ''}
    ${post.rowScale ? 'let rowScale = f32(RowScale[row]);' : ''}
    ${post.residual ? 'let gate = f32(Gate[row]);' : ''}`;
}

/** The dispatch of an apply step over a map outShape ([R, C] read as rows): a thread per `quads` groups of k channels of a row. */
function perRowDispatch(outShape: number[], lanes: Lanes, quads: number): { dispatchLayout: { x: number[] }; dispatch: [number, number, number] } {
  const c = outShape[outShape.length - 1];
  const rows = outShape.reduce((a, v) => a * v, 1) / c;
  return elementwiseDispatch([rows * Math.ceil(c / lanes / quads)]);
}

/**
 * The apply pass: ((x - centre) + shift) * scale + beta from Affine [B, 4, C] of the row's image,
 * then ReLU, times RowScale [R], and exact 0 where Mask <= 0, as the ops path orders them; one
 * thread per `quads` groups of k channels of a row of the output (the map: [R, C] read as rows),
 * which reads the row's list entry, scale and gate once for them.
 */
export class GroupNormApplyProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  private readonly post: ApplyOptions;
  private readonly masked: boolean;
  private readonly source: GroupNormSource;
  private readonly lanes: Lanes;
  private readonly quads: number;

  /** quads: groups of `lanes` channels of its row a thread takes in turn. */
  constructor(outShape: number[], post: ApplyOptions, masked: boolean, source: GroupNormSource, lanes: Lanes, quads = 1) {
    this.variableNames = ['X', 'Affine', 'Starts', ...applyVariables(post), ...sourceVariables(source, masked)];
    this.variableComponents = laneComponents(this.variableNames, lanes);
    this.outputComponent = lanes;
    this.outputShape = outShape;
    this.post = post;
    this.masked = masked;
    this.source = source;
    this.lanes = lanes;
    this.quads = quads;
    this.shaderKey = `dynheadGroupNormApply_${applyKey(post)}_${masked}_${sourceKey(source)}_${lanes}_${quads}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = perRowDispatch(outShape, lanes, quads));
  }

  getUserCode(): string {
    const k = this.lanes;
    const affineRow = (j: number) => `Affine[(b * 4 + ${j}) * cq + q]`;
    const a = { centre: affineRow(0), shift: affineRow(1), scale: affineRow(2), beta: affineRow(3) };
    return `
${xAtSnippet(this.source, k)}

${isActiveSnippet(this.source, this.masked)}

fn main(index : i32) {
  let cq = mapChannels() / ${k};
  ${channelQuadsSnippet('row', 'cq', this.quads)}
  if (index < uniforms.size / cq * qBlocks) {
    var b = 0;
    for (var i = 1; i < uniforms.affineShape[0]; i++) {
      if (row >= Starts[i]) {
        b = i;
      }
    }
    // what belongs to the row, read once for its channels
    ${rowPrologueSnippet(this.source, this.post)}
    ${channelQuadsLoopSnippet('cq', this.quads, `${applySnippet(k, a, this.post, this.masked, rowReads(this.source, k))}
      setOutputAtIndex(row * cq + q, y);`)}
  }
}
`;
  }
}

/** What GroupNormNormalizeProgram needs of the statistics' options. */
type NormalizeOptions = Pick<StatsOptions, 'groups' | 'bias' | 'masked' | 'source' | 'lanes' | 'pairRun'>;

/** Runs a GroupNormNormalizeProgram finds among its uniforms: more take the three programs. */
export const NORMALIZE_MAX_RUNS = 64;

/**
 * Passes 2 and 3 of GroupNorm in one dispatch: each thread adds its group's chunk sums (a few a
 * run: 9 at 800x1333's P3) and applies them, where GroupNormCombineProgram would write the affine
 * form for GroupNormApplyProgram to read. A dispatch less for every GroupNorm of a big map: 64 of a
 * D8 pass's 394 on a GPU, where each costs the same whatever its work. The runs' first rows are
 * uniforms, which frees the binding Starts held (the depth node's second GN binds all 8). The same
 * sums in the same order as the combine, so the same numbers.
 */
export class GroupNormNormalizeProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms?: string;
  uniformData?: UniformData;
  private readonly runStarts: string[];
  private readonly o: NormalizeOptions;
  private readonly eps: number;
  private readonly post: ApplyOptions;
  private readonly quads: number;

  /** outShape: the map's shape, [R, C] read as rows; starts: each run's first row and the row count. */
  constructor(outShape: number[], starts: number[], eps: number, post: ApplyOptions, o: NormalizeOptions, quads = 1) {
    if (!groupNormNormalizes(o, post, starts.length - 1)) throw new Error(`GroupNormNormalizeProgram: these inputs (or ${starts.length - 1} runs) do not fit; use the combine and apply programs`);
    this.variableNames = ['X', 'Partials', ...normParams(o.pairRun), ...(o.bias ? ['Bias'] : []), ...applyVariables(post), ...sourceVariables(o.source, o.masked)];
    this.variableComponents = laneComponents(this.variableNames, o.lanes).map((k, i) => (this.variableNames[i] === 'Partials' ? 4 : k));
    this.outputComponent = o.lanes;
    this.outputShape = outShape;
    const u = new ProgramUniforms();
    // run 0 starts at row 0; the others as uniforms, a comparison each
    this.runStarts = starts.slice(1, -1).map((s, i) => u.add(levelName('run', '', i + 1), s));
    ({ uniforms: this.uniforms, uniformData: this.uniformData } = pairUniforms(o.pairRun, u));
    this.o = o;
    this.eps = eps;
    this.post = post;
    this.quads = quads;
    this.shaderKey = `dynheadGroupNormNormalize_${f32Literal(eps)}_${applyKey(post)}_${o.groups}_${o.bias}_${o.masked}_${sourceKey(o.source)}_${o.lanes}_${quads}_${starts.length - 1}_${o.pairRun !== undefined}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = perRowDispatch(outShape, o.lanes, quads));
  }

  getUserCode(): string {
    const k = this.o.lanes;
    const groups = this.o.groups;
    return `
${xAtSnippet(this.o.source, k)}

${isActiveSnippet(this.o.source, this.o.masked)}

${groupMomentsSnippet(this.eps, groups, 'uniforms.partialsShape[2]')}

fn main(index : i32) {
  let cq = mapChannels() / ${k};
  let gq = cq / ${groups};
  ${channelQuadsSnippet('row', 'cq', this.quads)}
  if (index < uniforms.size / cq * qBlocks) {
    var b = 0;
    ${this.runStarts.map((s, i) => `b = select(b, ${i + 1}, row >= ${s});`).join(NEWLINE + '    ')}
    ${rowPrologueSnippet(this.o.source, this.post)}
    var g = -1;
    var m = vec3<f32>(0.0);
    ${channelQuadsLoopSnippet('cq', this.quads, `if (q / gq != g) {
        g = q / gq;
        m = groupMoments(b, g);
      }
      let shiftX = m.x;
      let mean = m.y;
      let sd = m.z;
      ${applySnippet(k, momentsAffine(k, this.o.bias, this.o.pairRun !== undefined), this.post, this.o.masked, rowReads(this.o.source, k))}
      setOutputAtIndex(row * cq + q, y);`)}
  }
}
`;
  }
}

/**
 * Whether GroupNormNormalizeProgram takes these inputs: at most WebGPU's 8 storage buffers a stage
 * (X, Partials, Gamma, Beta, the output, Bias, the apply step's, the source's), and few enough runs
 * to find by comparisons.
 */
export function groupNormNormalizes(o: Pick<StatsOptions, 'bias' | 'masked' | 'source' | 'pairRun'>, post: ApplyOptions, runs: number): boolean {
  // Partials takes the binding of the one-pass program's Starts
  return runs <= NORMALIZE_MAX_RUNS && groupNormFits(o, post);
}

/**
 * All three passes in one dispatch where every image fits in one chunk (the small FPN levels): a
 * workgroup per (image, group) sums its rows, then writes them normalised. The same arithmetic as
 * the three programs, so the same numbers.
 */
export class GroupNormOnePassProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputComponent: number;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  private readonly o: StatsOptions;
  private readonly eps: number;
  private readonly post: ApplyOptions;
  uniforms?: string;
  uniformData?: UniformData;

  /** outShape: the map's shape, [R, C] read as rows. */
  constructor(outShape: number[], batch: number, eps: number, post: ApplyOptions, o: StatsOptions) {
    this.variableNames = ['X', 'Starts', ...(o.bias ? ['Bias'] : []), ...sourceVariables(o.source, o.masked), ...normParams(o.pairRun), ...applyVariables(post)];
    ({ uniforms: this.uniforms, uniformData: this.uniformData } = pairUniforms(o.pairRun));
    this.variableComponents = laneComponents(this.variableNames, o.lanes);
    this.outputComponent = o.lanes;
    this.outputShape = outShape;
    this.o = o;
    this.eps = eps;
    this.post = post;
    // with the output, WebGPU's 8 storage buffers a stage (groupNormFits says which calls fit)
    if (this.variableNames.length > 7) throw new Error(`GroupNormOnePassProgram: ${this.variableNames.length} inputs, at most 7 fit`);
    this.shaderKey = `dynheadGroupNormOnePass_${f32Literal(eps)}_${applyKey(post)}_${statsShaderKey(o)}`;
    this.workgroupSize = [o.threads, 1, 1];
    this.dispatch = [1, o.groups, batch];
  }

  getUserCode(): string {
    return `
${statsProgramHead(this.o, keepsX(this.o.source))}
  s = partial[0];
  ${momentsSnippet(this.eps)}
  let n = max(last - first, 0) * gq;
  for (var e = t; e < n; e += ${this.o.threads}) {
    let row = first + e / gq;
    let q = g * gq + e % gq;
    ${applySnippet(this.o.lanes, momentsAffine(this.o.lanes, this.o.bias, this.o.pairRun !== undefined), this.post, this.o.masked, keepsX(this.o.source) ? { x: KEPT_X } : {})}
    setOutputAtIndex(row * cq + q, y);
  }
}
`;
  }
}

/** Whether GroupNorm with these inputs binds at most WebGPU's 8 storage buffers in each of its programs. */
export function groupNormFits(o: Pick<StatsOptions, 'bias' | 'masked' | 'source' | 'pairRun'>, post: ApplyOptions): boolean {
  // the one-pass program binds the most: X, Starts, the norm's parameters, the output, Bias, the source's, the apply step's
  return 3 + normParams(o.pairRun).length + (o.bias ? 1 : 0) + sourceVariables(o.source, o.masked).length + applyVariables(post).length <= 8;
}

import { type ListPart, listReaderSnippet } from './compact-conv-program';
import type { WebGPUProgramLike } from './masked-conv-program';
import { elementwiseDispatch, taps3x3Snippet, workgroupSumSnippet } from './webgpu-snippets';

/** A float32 constant as WGSL parses it back to the same float32. */
function f32Literal(v: number): string {
  return Math.fround(v).toPrecision(9);
}

/** Threads of a partial-sums workgroup, and the rows of its chunk of one image and group. */
const THREADS = 64;
export const CHUNK_ROWS = 2048;

/**
 * Where the programs read x of row r, channel ch: 'rows', X [R, C] itself; { compact }, a compacted
 * sparse conv's output X [P, C] through its pixel list (that part of List: [count, pixel of each
 * row, row of each pixel or -1]), so that row r is pixel r of the map, active where it has a row and 0 elsewhere:
 * the map the expansion would have written, without writing it; 'depthwise', the 'same' depthwise 3x3 conv of X [B,H,W,C]
 * with DwFilter [3,3,C,1] at pixel r, computed where it is read instead of written as a map.
 */
export type GroupNormSource = 'rows' | 'depthwise' | { compact: ListPart };

/** A source's name in shader keys. */
function sourceKey(source: GroupNormSource): string {
  return typeof source === 'string' ? source : `compact-${source.compact}`;
}

/**
 * The storage buffers a source adds after X, Starts (and Bias): the depthwise filter, the compact
 * form's List (which says which rows are active), or else the Mask when masked.
 */
function sourceVariables(source: GroupNormSource, masked: boolean): string[] {
  if (typeof source !== 'string') return ['List'];
  return [...(source === 'depthwise' ? ['DwFilter'] : []), ...(masked ? ['Mask'] : [])];
}

/** WGSL, at module scope: isActive(row), whether a masked map's row is on (the compact form: listed). */
function isActiveSnippet(source: GroupNormSource, masked: boolean): string {
  if (typeof source !== 'string') {
    return `fn isActive(row : i32) -> bool {
  return listAt(1 + listPixels() + row) >= 0;
}`;
  }
  return masked ? `fn isActive(row : i32) -> bool {
  return f32(Mask[row]) > 0.0;
}` : '';
}

/** WGSL, at module scope: mapChannels(), the map's C, and xAt(row, ch), its value at a row (pixel) and channel. */
function xAtSnippet(source: GroupNormSource): string {
  if (source === 'rows') {
    return `fn mapChannels() -> i32 {
  return uniforms.xShape[1];
}

fn xAt(row : i32, ch : i32) -> f32 {
  return f32(X[row * uniforms.xShape[1] + ch]);
}`;
  }
  if (typeof source !== 'string') {
    return `${listReaderSnippet(source.compact)}

fn mapChannels() -> i32 {
  return uniforms.xShape[1];
}

fn xAt(row : i32, ch : i32) -> f32 {
  let r = listAt(1 + listPixels() + row);
  if (r < 0) {
    return 0.0;
  }
  return f32(X[r * uniforms.xShape[1] + ch]);
}`;
  }
  return `fn mapChannels() -> i32 {
  return uniforms.xShape[3];
}

fn xAt(row : i32, ch : i32) -> f32 {
  let h = uniforms.xShape[1];
  let w = uniforms.xShape[2];
  let c = uniforms.xShape[3];
  var acc = 0.0;
  ${taps3x3Snippet('row', 'acc = fma(f32(X[((b * h + yy) * w + xx) * c + ch]), f32(DwFilter[(ky * 3 + kx) * c + ch]), acc);')}
  return acc;
}`;
}

/**
 * The shift every sum of an (image, group) is taken around: x at the image's first row and the
 * group's first channel (0 for an empty image). Near the mean, so sums of squares keep their
 * digits for maps far from zero; the same value in every chunk and in the combine.
 */
function shiftSnippet(): string {
  return `let shiftX = select(0.0, xAt(r0, g * cg), Starts[b + 1] > r0);`;
}

/** WGSL: (count, sum d, sum d^2) of this thread's elements t, t + THREADS, ... of rows first..last-1, in s. */
function statsLoopSnippet(counted: string, biasShift: string): string {
  return `let n = max(last - first, 0) * cg;
  var s = vec3<f32>(0.0);
  for (var e = t; e < n; e += ${THREADS}) {
    let row = first + e / cg;
    let ch = g * cg + e % cg;
    if (${counted}) {
      let d = (xAt(row, ch) - shiftX)${biasShift};
      s += vec3<f32>(1.0, d, d * d);
    }
  }
  partial[t] = s;
  ${workgroupSumSnippet(THREADS)}`;
}

/** What the apply step does after the normalisation. */
export interface ApplyOptions {
  relu: boolean;
  /** times RowScale [R] */
  rowScale: boolean;
  /** the depth node's output ReLU(Input + Gate * y), Input a map like the output and Gate [R] */
  residual: boolean;
}

/** The storage buffers the apply step adds. */
function applyVariables(post: ApplyOptions): string[] {
  return [...(post.rowScale ? ['RowScale'] : []), ...(post.residual ? ['Gate', 'Input'] : [])];
}

function applyKey(post: ApplyOptions): string {
  return `${post.relu}_${post.rowScale}_${post.residual}`;
}

/**
 * WGSL: y, the output at (row, ch) from a = (centre, shift, scale, beta): then ReLU, row scale, the
 * zeros off the mask, the gated residual (as GatedResidualProgram computes it), in the ops' order.
 */
function applySnippet(post: ApplyOptions, masked: boolean): string {
  return `var y = ((xAt(row, ch) - a.x) + a.y) * a.z + a.w;
    ${post.relu ? 'y = max(y, 0.0);' : ''}
    ${post.rowScale ? 'y = y * f32(RowScale[row]);' : ''}
    ${masked ? 'if (!isActive(row)) { y = 0.0; }' : ''}
    ${post.residual ? 'y = max(Input[row * c + ch] + y * f32(Gate[row]), 0.0);' : ''}`;
}

/** WGSL: from s = (count, sum d, sum d^2) of an (image b, group g), its mean and sd (with eps). */
function momentsSnippet(eps: number): string {
  return `let count = max(s.x, 1.0);
  let mean = s.y / count;
  let variance = max(s.z / count - mean * mean, 0.0);
  let sd = sqrt(variance + ${f32Literal(eps)});`;
}

/**
 * WGSL: the affine form of the apply pass for channel ch of the group, (centre, shift, gamma /
 * sqrt(var + eps), beta), so that y = ((x - centre) + shift) * scale + beta; x - centre is exact
 * near the mean.
 */
function affineExpr(bias: boolean): string {
  return `vec4<f32>(shiftX, ${bias ? '(Bias[ch] - Bias[g * cg]) - mean' : '-mean'}, Gamma[ch] / sd, Beta[ch])`;
}

/** WGSL: write the affine form [B, C, 4] of channels first, first + step, ... of the group. */
function affineWriteSnippet(eps: number, bias: boolean, first: string, step: string): string {
  return `${momentsSnippet(eps)}
  for (var j = ${first}; j < cg; j += ${step}) {
    let ch = g * cg + j;
    let a = ${affineExpr(bias)};
    let base = (b * c + ch) * 4;
    setOutputAtIndex(base, a.x);
    setOutputAtIndex(base + 1, a.y);
    setOutputAtIndex(base + 2, a.z);
    setOutputAtIndex(base + 3, a.w);
  }`;
}

/** What the statistics programs share: which rows count, and bias entering d. */
interface StatsOptions {
  groups: number;
  bias: boolean;
  masked: boolean;
  source: GroupNormSource;
}

function statsShaderKey(o: StatsOptions): string {
  return `${o.groups}_${o.bias}_${o.masked}_${sourceKey(o.source)}`;
}

function statsLoop(o: StatsOptions): string {
  return statsLoopSnippet(o.masked ? 'isActive(row)' : 'true', o.bias ? ' + (Bias[ch] - Bias[g * cg])' : '');
}

/** WGSL opening a statistics workgroup (one per chunk, group, image) up to its shift. */
function statsHeaderSnippet(groups: number): string {
  return `let c = mapChannels();
  let cg = c / ${groups};
  let chunk = i32(workgroupId.x);
  let g = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let t = i32(localId.x);
  let r0 = Starts[b];
  ${shiftSnippet()}
  let first = r0 + chunk * ${CHUNK_ROWS};
  let last = min(first + ${CHUNK_ROWS}, Starts[b + 1]);`;
}

/**
 * WGSL of a statistics program (one workgroup per chunk, group, image) up to its sums: the
 * (count, sum d, sum d^2) of the workgroup's elements end in partial[0], s holding the thread's own.
 */
function statsProgramHead(o: StatsOptions): string {
  return `var<workgroup> partial : array<vec3<f32>, ${THREADS}>;

${xAtSnippet(o.source)}

${isActiveSnippet(o.source, o.masked)}

fn main() {
  ${statsHeaderSnippet(o.groups)}
  ${statsLoop(o)}`;
}

/**
 * Pass 1 of 3 of GroupNorm over the rows of a map (image b = rows Starts[b] .. Starts[b+1]-1, read
 * through the source), with Bias [C] added first and, when masked, only rows with Mask > 0
 * counted: per (chunk of CHUNK_ROWS rows, group, image), [count, sum d, sum d^2, shift] of
 * d = x + bias - shift. Many workgroups per group, so a big map is read at the device's speed, not
 * one workgroup's.
 */
export class GroupNormPartialsProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  private readonly o: StatsOptions;

  constructor(batch: number, chunks: number, o: StatsOptions) {
    this.variableNames = ['X', 'Starts', ...(o.bias ? ['Bias'] : []), ...sourceVariables(o.source, o.masked)];
    this.outputShape = [batch, o.groups, chunks, 4];
    this.o = o;
    this.shaderKey = `dynheadGroupNormPartials_${statsShaderKey(o)}`;
    this.dispatch = [chunks, o.groups, batch];
  }

  getUserCode(): string {
    return `
${statsProgramHead(this.o)}
  if (t == 0) {
    let base = ((b * ${this.o.groups} + g) * i32(numWorkgroups.x) + chunk) * 4;
    setOutputAtIndex(base, partial[0].x);
    setOutputAtIndex(base + 1, partial[0].y);
    setOutputAtIndex(base + 2, partial[0].z);
    setOutputAtIndex(base + 3, shiftX);
  }
}
`;
  }
}

/**
 * Pass 2 of 3: one thread per (image, group) adds its chunks' sums and writes, for each channel of
 * the group, the affine form of the apply pass -> [B, C, 4]. The shift comes with the sums, so the
 * map's buffers are not bound (a stage may bind only 8).
 */
export class GroupNormCombineProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  // flat: tfjs passes main() the global thread index
  dispatchLayout = { x: [0, 1, 2] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  private readonly o: Pick<StatsOptions, 'groups' | 'bias'>;
  private readonly eps: number;

  constructor(batch: number, channels: number, eps: number, o: Pick<StatsOptions, 'groups' | 'bias'>) {
    this.variableNames = ['Partials', 'Gamma', 'Beta', ...(o.bias ? ['Bias'] : [])];
    this.variableComponents = this.variableNames.map((n) => (n === 'Partials' ? 4 : 1));
    this.outputShape = [batch, channels, 4];
    this.o = o;
    this.eps = eps;
    this.shaderKey = `dynheadGroupNormCombine_${f32Literal(eps)}_${o.groups}_${o.bias}`;
    this.dispatch = [Math.ceil((batch * o.groups) / 64), 1, 1];
  }

  getUserCode(): string {
    const groups = this.o.groups;
    return `
fn main(id : i32) {
  let c = uniforms.gammaShape;
  let cg = c / ${groups};
  let chunks = uniforms.partialsShape[2];
  if (id >= uniforms.outShape[0] * ${groups}) {
    return;
  }
  let b = id / ${groups};
  let g = id % ${groups};
  let shiftX = Partials[id * chunks].w;
  var s = vec3<f32>(0.0);
  for (var k = 0; k < chunks; k++) {
    s += Partials[id * chunks + k].xyz;
  }
  ${affineWriteSnippet(this.eps, this.o.bias, '0', '1')}
}
`;
  }
}

/**
 * The apply pass: ((x - centre) + shift) * scale + beta from Affine [B, C, 4] of the row's image,
 * then ReLU, times RowScale [R], and exact 0 where Mask <= 0, as the ops path orders them; one
 * thread per element of the output (the map: [R, C] read as rows).
 */
export class GroupNormApplyProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  private readonly post: ApplyOptions;
  private readonly masked: boolean;
  private readonly source: GroupNormSource;

  constructor(outShape: number[], post: ApplyOptions, masked: boolean, source: GroupNormSource) {
    this.variableNames = ['X', 'Affine', 'Starts', ...applyVariables(post), ...sourceVariables(source, masked)];
    this.variableComponents = this.variableNames.map((n) => (n === 'Affine' ? 4 : 1));
    this.outputShape = outShape;
    this.post = post;
    this.masked = masked;
    this.source = source;
    this.shaderKey = `dynheadGroupNormApply_${applyKey(post)}_${masked}_${sourceKey(source)}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(outShape));
  }

  getUserCode(): string {
    return `
${xAtSnippet(this.source)}

${isActiveSnippet(this.source, this.masked)}

fn main(index : i32) {
  if (index < uniforms.size) {
    let c = mapChannels();
    let row = index / c;
    let ch = index - row * c;
    var b = 0;
    for (var i = 1; i < uniforms.affineShape[0]; i++) {
      if (row >= Starts[i]) {
        b = i;
      }
    }
    let a = Affine[b * c + ch];
    ${applySnippet(this.post, this.masked)}
    setOutputAtIndex(index, y);
  }
}
`;
  }
}

/**
 * All three passes in one dispatch where every image fits in one chunk (the small FPN levels): a
 * workgroup per (image, group) sums its rows, then writes them normalised. The same arithmetic as
 * the three programs, so the same numbers.
 */
export class GroupNormOnePassProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];
  private readonly o: StatsOptions;
  private readonly eps: number;
  private readonly post: ApplyOptions;

  /** outShape: the map's shape, [R, C] read as rows. */
  constructor(outShape: number[], batch: number, eps: number, post: ApplyOptions, o: StatsOptions) {
    this.variableNames = ['X', 'Starts', ...(o.bias ? ['Bias'] : []), ...sourceVariables(o.source, o.masked), 'Gamma', 'Beta', ...applyVariables(post)];
    this.outputShape = outShape;
    this.o = o;
    this.eps = eps;
    this.post = post;
    // with the output, WebGPU's 8 storage buffers a stage (groupNormFits says which calls fit)
    if (this.variableNames.length > 7) throw new Error(`GroupNormOnePassProgram: ${this.variableNames.length} inputs, at most 7 fit`);
    this.shaderKey = `dynheadGroupNormOnePass_${f32Literal(eps)}_${applyKey(post)}_${statsShaderKey(o)}`;
    this.dispatch = [1, o.groups, batch];
  }

  getUserCode(): string {
    return `
${statsProgramHead(this.o)}
  s = partial[0];
  ${momentsSnippet(this.eps)}
  for (var e = t; e < n; e += ${THREADS}) {
    let row = first + e / cg;
    let ch = g * cg + e % cg;
    let a = ${affineExpr(this.o.bias)};
    ${applySnippet(this.post, this.o.masked)}
    setOutputAtIndex(row * c + ch, y);
  }
}
`;
  }
}

/** Whether GroupNorm with these inputs binds at most WebGPU's 8 storage buffers in each of its programs. */
export function groupNormFits(o: StatsOptions, post: ApplyOptions): boolean {
  // the one-pass program binds the most: X, Starts, Gamma, Beta, the output, Bias, the source's, the apply step's
  return 5 + (o.bias ? 1 : 0) + sourceVariables(o.source, o.masked).length + applyVariables(post).length <= 8;
}

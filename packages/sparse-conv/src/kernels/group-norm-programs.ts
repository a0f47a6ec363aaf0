import { type ListPart, listReaderSnippet } from './compact-conv-program';
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
  taps3x3Snippet,
  workgroupSumSnippet,
} from './webgpu-snippets';


/** Rows of a statistics workgroup's chunk of one image and group. */
export const CHUNK_ROWS = 2048;

/**
 * Threads of a statistics workgroup (one per chunk, group and image) on GPUs. SwiftShader runs a
 * workgroup's SIMD groups of 4 as coroutines that switch at every barrier, so there the programs
 * take one such group (webgpu-tuning.ts's DeviceTuning): the one-pass GN of a 7x11x256 map,
 * 32 groups, 3.5 -> 0.7 ms; 4x6: 3.5-4.9 -> 0.3 ms; the partials of 50x84: 11 -> 5-8 ms.
 */
export const GPU_STATS_THREADS = 64;

/**
 * The GroupNorm programs' lanes: 4 where each group's channels come in fours (on SwiftShader that
 * halved the depthwise GroupNorm), else 1.
 */
export function groupNormLanes(channels: number, groups: number): Lanes {
  return (channels / groups) % 4 === 0 ? 4 : 1;
}

/** WGSL: the sum of a k-channel value's lanes, of their squares, and its first lane. */
function laneSum(k: Lanes, e: string): string {
  return k === 4 ? `dot(${e}, vec4<f32>(1.0))` : e;
}

function laneSquares(k: Lanes, e: string): string {
  return k === 4 ? `dot(${e}, ${e})` : `${e} * ${e}`;
}

function firstLane(k: Lanes, e: string): string {
  return k === 4 ? `${e}.x` : e;
}

/** The buffers read k channels at a time (a channel axis last); the others hold one value per row, image or pixel. */
const LANED_VARIABLES = new Set(['X', 'Bias', 'DwFilter', 'Gamma', 'Beta', 'Norm', 'Input', 'Affine']);

function laneComponents(variableNames: string[], k: Lanes): number[] {
  return variableNames.map((n) => (LANED_VARIABLES.has(n) ? k : 1));
}

/**
 * Where the programs read x of row r, channel ch: 'rows', X [R, C] itself; { compact }, a compacted
 * sparse conv's output X [P, C] through its pixel list (that part of List: [count, pixel of each
 * row, row of each pixel or -1]), so that row r is pixel r of the map, active where it has a row and 0 elsewhere:
 * the map the expansion would have written, without writing it; with `scattered`, X [P, C] holds each
 * listed row at its pixel (a GEMM's scattered output: compact-gemm-program.ts), the other rows never
 * written; 'depthwise', the 'same' depthwise 3x3 conv of X [B,H,W,C]
 * with DwFilter [3,3,C,1] at pixel r, computed where it is read instead of written as a map (small maps: a
 * bigger one has DepthwiseMapProgram write it first).
 */
export type GroupNormSource = 'rows' | 'depthwise' | { compact: ListPart; scattered?: boolean };

/** A source's name in shader keys. */
function sourceKey(source: GroupNormSource): string {
  return typeof source === 'string' ? source : `compact-${source.compact}${source.scattered ? '-scattered' : ''}`;
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

/**
 * WGSL, at module scope: mapChannels(), the map's C, and xAt(row, q), its value at a row (pixel) and
 * channels q*k .. q*k+k-1 (the k lanes' type).
 */
function xAtSnippet(source: GroupNormSource, k: Lanes): string {
  const T = laneType(k);
  if (source === 'rows') {
    return `fn mapChannels() -> i32 {
  return uniforms.xShape[1];
}

fn xAt(row : i32, q : i32) -> ${T} {
  return ${T}(X[row * (uniforms.xShape[1] / ${k}) + q]);
}`;
  }
  if (typeof source !== 'string') {
    return `${listReaderSnippet(source.compact)}

fn mapChannels() -> i32 {
  return uniforms.xShape[1];
}

fn activeX(r : i32, q : i32) -> ${T} {
  return ${T}(X[${source.scattered ? 'listAt(1 + r)' : 'r'} * (uniforms.xShape[1] / ${k}) + q]);
}

fn xAt(row : i32, q : i32) -> ${T} {
  let r = listAt(1 + listPixels() + row);
  if (r < 0) {
    return ${T}(0.0);
  }
  return ${source.scattered ? `${T}(X[row * (uniforms.xShape[1] / ${k}) + q])` : 'activeX(r, q)'};
}`;
  }
  return `fn mapChannels() -> i32 {
  return uniforms.xShape[3];
}

fn xAt(row : i32, q : i32) -> ${T} {
  let h = uniforms.xShape[1];
  let w = uniforms.xShape[2];
  let cq = uniforms.xShape[3] / ${k};
  var acc = ${T}(0.0);
  ${taps3x3Snippet('row', `acc = fma(${T}(X[((b * h + yy) * w + xx) * cq + q]), ${T}(DwFilter[(ky * 3 + kx) * cq + q]), acc);`)}
  return acc;
}`;
}

/**
 * The shift every sum of an (image, group) is taken around: x at the first row the statistics read
 * (`at`, when `present`) and the group's first channel, else 0. Near the mean, so sums of squares
 * keep their digits for maps far from zero; the same value in every chunk and in the combine.
 */
function shiftSnippet(k: Lanes, at: string, present: string): string {
  return `let shiftX = select(0.0, ${firstLane(k, at)}, ${present});`;
}

/** WGSL: the bias as it enters d (bias minus the group's first channel's, which the shift holds), for channels q. */
function biasShiftExpr(k: Lanes): string {
  return `(Bias[q] - ${firstLane(k, 'Bias[g * gq]')})`;
}

/**
 * Where the one-pass program keeps x of (row, q) between its two loops: the output element it
 * later overwrites with y, written and read by the same thread (tfjs names the output `result`).
 */
const KEPT_X = 'result[row * cq + q]';

/**
 * Whether the one-pass program keeps x in its output instead of computing it twice: for the
 * depthwise source, whose x costs nine taps (on SwiftShader 38 -> 24 ms for a 25x42x256 map).
 */
function keepsX(source: GroupNormSource): boolean {
  return source === 'depthwise';
}

/** WGSL: (count, sum d, sum d^2) of this thread's elements t, t + threads, ... of rows sFirst..sLast-1 (read by `reader`), in s. */
function statsLoopSnippet(k: Lanes, threads: number, counted: string, bias: boolean, keep: boolean, reader: string): string {
  return `let sn = max(sLast - sFirst, 0) * gq;
  var s = vec3<f32>(0.0);
  for (var e = t; e < sn; e += ${threads}) {
    let row = sFirst + e / gq;
    let q = g * gq + e % gq;
    ${keep ? `let xv = ${reader}(row, q);
    ${KEPT_X} = xv;` : ''}
    if (${counted}) {
      let d = (${keep ? 'xv' : `${reader}(row, q)`} - shiftX)${bias ? ` + ${biasShiftExpr(k)}` : ''};
      s += vec3<f32>(${k}.0, ${laneSum(k, 'd')}, ${laneSquares(k, 'd')});
    }
  }
  partial[t] = s;
  ${workgroupSumSnippet(threads)}`;
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

/** The affine form of the apply pass for channels q, as WGSL expressions: y = ((x - centre) + shift) * scale + beta. */
interface AffineExprs {
  centre: string;
  shift: string;
  scale: string;
  beta: string;
}

/** WGSL expressions of a row that the apply step reads: a caller looping over a row's channels works them out once. */
interface RowExprs {
  /** x at (row, q) */
  x: string;
  /** whether the row is on the mask */
  active: string;
  rowScale: string;
  gate: string;
}

const ROW_READS: RowExprs = { x: 'xAt(row, q)', active: 'isActive(row)', rowScale: 'f32(RowScale[row])', gate: 'f32(Gate[row])' };

/**
 * WGSL: y, the output at (row, q) from the affine form: then ReLU, row scale, the zeros off the
 * mask, the gated residual (as GatedResidualProgram computes it), in the ops' order. cq (channels
 * / k) in scope.
 */
function applySnippet(k: Lanes, a: AffineExprs, post: ApplyOptions, masked: boolean, reads: Partial<RowExprs> = {}): string {
  const T = laneType(k);
  const r = { ...ROW_READS, ...reads };
  return `var y = ((${r.x} - ${a.centre}) + ${a.shift}) * ${a.scale} + ${a.beta};
    ${post.relu ? `y = max(y, ${T}(0.0));` : ''}
    ${post.rowScale ? `y = y * ${r.rowScale};` : ''}
    ${masked ? `if (!(${r.active})) { y = ${T}(0.0); }` : ''}
    ${post.residual ? `y = max(${T}(Input[row * cq + q]) + y * ${r.gate}, ${T}(0.0));` : ''}`;
}

/** WGSL: from s = (count, sum d, sum d^2) of an (image b, group g), its mean and sd (with eps). */
function momentsSnippet(eps: number): string {
  return `let count = max(s.x, 1.0);
  let mean = s.y / count;
  let variance = max(s.z / count - mean * mean, 0.0);
  let sd = sqrt(variance + ${f32Literal(eps)});`;
}

/**
 * WGSL, at module scope: groupMoments(b, g), the (shift, mean, sd) of run b's group g from the
 * chunk sums a GroupNormPartialsProgram wrote to Partials (vec4s, from vec4 `head` on), added in
 * GroupNormCombineProgram's order, so a program that combines as it reads gets its numbers.
 */
export function groupMomentsSnippet(eps: number, groups: number, chunks: string, head = '0'): string {
  return `fn groupMoments(b : i32, g : i32) -> vec3<f32> {
  let chunks = ${chunks};
  let at = ${head} + (b * ${groups} + g) * chunks;
  let shiftX = Partials[at].w;
  var s = vec3<f32>(0.0);
  for (var i = 0; i < chunks; i++) {
    s += Partials[at + i].xyz;
  }
  ${momentsSnippet(eps)}
  return vec3<f32>(shiftX, mean, sd);
}`;
}

/**
 * The affine form from the moments of channels q's group (shiftX, mean, sd in scope), so that x -
 * centre is exact near the mean.
 */
function momentsAffine(k: Lanes, bias: boolean, paired = false, sets = 2): AffineExprs {
  // paired: runs from uniforms.pairRun on take the second set (b, the run, in scope), from Norm
  // [gamma, beta, gamma1, beta1]: vector j of it starts at j * C / k. More sets (two towers' scale
  // nodes: each tower's two paths): every pairRun runs take the next, Norm holding them in order.
  const nq = `(uniforms.normShape / ${2 * sets * k})`;
  const set = `(2 * min(b / uniforms.pairRun, ${sets - 1}))`;
  const param = (j: number) => (!paired ? `${j === 0 ? 'Gamma' : 'Beta'}[q]` : sets === 2 ? `select(Norm[${j} * ${nq} + q], Norm[${j + 2} * ${nq} + q], b >= uniforms.pairRun)` : `Norm[(${set} + ${j}) * ${nq} + q]`);
  return { centre: 'shiftX', shift: bias ? `(${biasShiftExpr(k)} - mean)` : '-mean', scale: `(${param(0)} / sd)`, beta: param(1) };
}

/**
 * The norm's parameter buffers: Gamma and Beta, or with a second set for the runs from `pairRun`
 * on (a scale node's two paths in one map, or two towers' depth nodes), one buffer Norm holding
 * gamma, beta, gamma1 and beta1 (webgpu-group-norm.ts's pairedNorm): four bindings would leave a normalize pass with a
 * list and a gated residual over WebGPU's 8 a stage.
 */
function normParams(pairRun: number | undefined): string[] {
  return pairRun === undefined ? ['Gamma', 'Beta'] : ['Norm'];
}

/** A program's `uniforms` and `uniformData` holding pairRun, where the norm has a second set. */
function pairUniforms(pairRun: number | undefined, u = new ProgramUniforms()): { uniforms?: string; uniformData?: UniformData } {
  if (pairRun !== undefined) u.add('pairRun', pairRun);
  return { uniforms: u.declaration, uniformData: u.data };
}

/** What the statistics programs share: which rows count, bias entering d, and the channels a thread takes. */
interface StatsOptions {
  groups: number;
  bias: boolean;
  masked: boolean;
  source: GroupNormSource;
  lanes: Lanes;
  /**
   * The statistics read the compact source's rows themselves (its active pixels in order), not
   * every pixel of the map through the list: at density 0.2 a fifth of it.
   */
  activeRows: boolean;
  /**
   * With activeRows, whether the map holds more than one run of rows (images, or a pyramid's
   * (level, image) runs): each workgroup then finds its run's rows in the list by bisection.
   */
  segmented: boolean;
  /** threads of a workgroup: GPU_STATS_THREADS, or on SwiftShader 4 (a power of 2) */
  threads: number;
  /** the first run that takes the second set of norm parameters (normParams); undefined: one set */
  pairRun?: number;
}

function statsShaderKey(o: StatsOptions): string {
  return `${o.groups}_${o.bias}_${o.masked}_${sourceKey(o.source)}_${o.lanes}_${o.activeRows}_${o.segmented}_${o.threads}_${o.pairRun !== undefined}`;
}

function statsLoop(o: StatsOptions, keep: boolean): string {
  if (o.activeRows) return statsLoopSnippet(o.lanes, o.threads, 'true', o.bias, keep, 'activeX');
  return statsLoopSnippet(o.lanes, o.threads, o.masked ? 'isActive(row)' : 'true', o.bias, keep, 'xAt');
}

/** WGSL opening a statistics workgroup (one per chunk, group, image) up to its shift. */
function statsHeaderSnippet(o: StatsOptions): string {
  const k = o.lanes;
  // the rows the statistics read: the chunk's map rows, or its part of the active rows (of its run)
  const statsRows = o.activeRows && o.segmented
    ? `let runFirst = listedFrom(Starts[b]);
  let runEnd = listedFrom(Starts[b + 1]);
  ${shiftSnippet(k, 'activeX(runFirst, g * gq)', 'runEnd > runFirst')}
  let sFirst = runFirst + chunk * ${CHUNK_ROWS};
  let sLast = min(sFirst + ${CHUNK_ROWS}, runEnd);`
    : o.activeRows
    ? `let activeCount = listAt(0);
  ${shiftSnippet(k, 'activeX(0, g * gq)', 'activeCount > 0')}
  let sFirst = chunk * ${CHUNK_ROWS};
  let sLast = min(sFirst + ${CHUNK_ROWS}, activeCount);`
    : `${shiftSnippet(k, 'xAt(r0, g * gq)', 'Starts[b + 1] > r0')}
  let sFirst = first;
  let sLast = last;`;
  return `let c = mapChannels();
  let cq = c / ${k};
  let cg = c / ${o.groups};
  let gq = cg / ${k};
  let chunk = i32(workgroupId.x);
  let g = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let t = i32(localId.x);
  let r0 = Starts[b];
  let first = r0 + chunk * ${CHUNK_ROWS};
  let last = min(first + ${CHUNK_ROWS}, Starts[b + 1]);
  ${statsRows}`;
}

/**
 * WGSL, at module scope: listedFrom(p), the first row of the list whose pixel is p or later (the
 * count if none): the list holds its pixels in ascending order, so a bisection finds it.
 */
const LISTED_FROM = `fn listedFrom(p : i32) -> i32 {
  var lo = 0;
  var hi = listAt(0);
  while (lo < hi) {
    let mid = (lo + hi) / 2;
    if (listAt(1 + mid) < p) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}`;

/**
 * WGSL of a statistics program (one workgroup per chunk, group, image) up to its sums: the
 * (count, sum d, sum d^2) of the workgroup's elements end in partial[0], s holding the thread's own.
 */
function statsProgramHead(o: StatsOptions, keep = false): string {
  return `var<workgroup> partial : array<vec3<f32>, ${o.threads}>;

${xAtSnippet(o.source, o.lanes)}

${isActiveSnippet(o.source, o.masked)}

${o.activeRows && o.segmented ? LISTED_FROM : ''}

fn main() {
  ${statsHeaderSnippet(o)}
  ${statsLoop(o, keep)}`;
}

/**
 * Values carried ahead of a statistics program's output (the scale node's gates, out of the big map
 * they were written in): `values` values, every `stride`-th from the first, into its first `rows`
 * rows of C.
 */
export interface GateCarry {
  values: number;
  rows: number;
  stride: number;
}

/**
 * WGSL: a carry (the partials' and the combine's), `values` values read every `stride`-th through
 * `read(at)` copied to the output's first values, thread `first` of `count` taking every count-th.
 */
function carrySnippet(carry: { values: string; stride: number }, first: string, count: string, read: (at: string) => string): string {
  return `for (var i = ${first}; i < ${carry.values}; i += ${count}) {
    let at = i * ${carry.stride};
    setOutputAtIndex(i, ${read('at')});
  }
  `;
}

/**
 * Pass 1 of 3 of GroupNorm over the rows of a map (image b = rows Starts[b] .. Starts[b+1]-1, read
 * through the source), with Bias [C] added first and, when masked, only rows with Mask > 0
 * counted: per (chunk of CHUNK_ROWS rows, group, image), [count, sum d, sum d^2, shift] of
 * d = x + bias - shift. Many workgroups per group, so a big map is read at the device's speed, not
 * one workgroup's. `carry`: `values` values of X ahead of the rows Starts counts, every `stride`-th
 * from its first, are copied to the output's first `rows` rows of C, the sums after them, output [rows * C / 4 + B * groups *
 * chunks, 4] (the scale node's gates, carried out of the big map for the blend that combines the
 * sums itself, so that their charge keeps only this small buffer alive).
 */
export class GroupNormPartialsProgram implements WebGPUProgramLike {
  variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  uniformData?: UniformData;
  private readonly o: StatsOptions;
  private readonly carry?: { values: string; offset: string; stride: number };

  constructor(batch: number, chunks: number, o: StatsOptions, carry?: GateCarry & { channels: number }) {
    this.variableNames = ['X', 'Starts', ...(o.bias ? ['Bias'] : []), ...sourceVariables(o.source, o.masked)];
    this.variableComponents = laneComponents(this.variableNames, o.lanes);
    this.outputShape = carry ? [(carry.rows * carry.channels) / 4 + batch * o.groups * chunks, 4] : [batch, o.groups, chunks, 4];
    this.o = o;
    if (carry) {
      if (typeof o.source !== 'string' || o.source === 'depthwise' || carry.channels % 4 !== 0) throw new Error('GroupNormPartialsProgram: carry reads the head of a map of rows (channels a multiple of 4)');
      const u = new ProgramUniforms();
      this.carry = { values: u.add('carryValues', carry.values), offset: u.add('carryOffset', carry.rows * carry.channels), stride: carry.stride };
      [this.uniforms, this.uniformData] = [u.declaration, u.data];
    }
    this.shaderKey = `dynheadGroupNormPartials_${statsShaderKey(o)}_${carry?.stride ?? 0}`;
    this.workgroupSize = [o.threads, 1, 1];
    this.dispatch = [chunks, o.groups, batch];
  }

  getUserCode(): string {
    const k = this.o.lanes;
    // X's head: every thread of the dispatch takes its share
    const threadId = `((b * ${this.o.groups} + g) * i32(numWorkgroups.x) + chunk) * ${this.o.threads} + t`;
    const threadCount = `i32(numWorkgroups.x * numWorkgroups.y * numWorkgroups.z) * ${this.o.threads}`;
    const carry = this.carry ? carrySnippet(this.carry, threadId, threadCount, (at) => (k === 1 ? `X[${at}]` : `X[${at} / ${k}][${at} % ${k}]`)) : '';
    return `
${statsProgramHead(this.o)}
  ${carry}if (t == 0) {
    let base = ${this.carry ? `${this.carry.offset} + ` : ''}((b * ${this.o.groups} + g) * i32(numWorkgroups.x) + chunk) * 4;
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
 * What GroupNormCombineProgram takes of the statistics' options, and `normSets`: with pairRun, the
 * parameter sets Norm holds (default 2), every pairRun runs taking the next.
 */
export type CombineOptions = Pick<StatsOptions, 'groups' | 'bias' | 'pairRun'> & { normSets?: number };

/**
 * Pass 2 of 3: one thread per (image, group) adds its chunks' sums and writes, for each channel of
 * the group, the affine form of the apply pass -> [B, 4, C] (centre, shift, scale, beta, each a row
 * over the channels, so the apply pass reads k channels' of each at once). The shift comes with the
 * sums, so the map's buffers are not bound (a stage may bind only 8). `scaleShift`: [B, 2, C], the
 * form y = x * scale + shift (a GEMM applies it as it stages its input: two reads, one fma), which
 * keeps fewer digits than the centred form where a group's mean is far from 0 next to its sd.
 * `carry` (scaleShift only): `values` values of a last input Carry, every `stride`-th from its
 * first, are copied to the output's first `rows` rows of C, the affine form after them (the scale node's gates, carried out
 * of the big buffer they were written in, so that their charge keeps only this small one alive).
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
  private readonly o: CombineOptions;
  private readonly eps: number;
  uniforms?: string;
  uniformData?: UniformData;

  private readonly scaleShift: boolean;
  private readonly carry?: { values: string; offset: string; runs: string; stride: number };

  constructor(batch: number, channels: number, eps: number, o: CombineOptions, scaleShift = false, carry?: GateCarry) {
    if (o.normSets !== undefined && !(o.pairRun !== undefined && Number.isInteger(o.normSets) && o.normSets >= 2)) throw new Error(`GroupNormCombineProgram: normSets (${o.normSets}) needs pairRun and a whole number from 2`);
    if (carry && !scaleShift) throw new Error('GroupNormCombineProgram: carry needs the scale-and-shift form');
    this.variableNames = ['Partials', ...normParams(o.pairRun), ...(o.bias ? ['Bias'] : []), ...(carry ? ['Carry'] : [])];
    this.variableComponents = this.variableNames.map((n) => (n === 'Partials' ? 4 : 1));
    this.outputShape = carry ? [carry.rows + batch * 2, channels] : [batch, scaleShift ? 2 : 4, channels];
    this.o = o;
    this.eps = eps;
    this.scaleShift = scaleShift;
    const u = new ProgramUniforms();
    if (carry) this.carry = { values: u.add('carryValues', carry.values), offset: u.add('carryOffset', carry.rows * channels), runs: u.add('runs', batch), stride: carry.stride };
    ({ uniforms: this.uniforms, uniformData: this.uniformData } = pairUniforms(o.pairRun, u));
    const sets = (o.normSets ?? 2) === 2 ? '' : `x${o.normSets}`;
    this.shaderKey = `dynheadGroupNormCombine_${f32Literal(eps)}_${o.groups}_${o.bias}_${o.pairRun !== undefined}${sets}_${scaleShift}_${carry?.stride ?? 0}`;
    this.dispatch = [Math.ceil((batch * o.groups) / 64), 1, 1];
  }

  getUserCode(): string {
    const groups = this.o.groups;
    // one channel at a time (k = 1): Gamma, Beta and Bias are read per channel here
    const sets = this.o.normSets ?? 2;
    const a = momentsAffine(1, this.o.bias, this.o.pairRun !== undefined, sets);
    const at = this.carry ? `${this.carry.offset} + ` : '';
    // before any thread returns below
    const carry = this.carry ? carrySnippet(this.carry, 'id', 'i32(numWorkgroups.x) * 64', (at) => `Carry[${at}]`) : '';
    return `
fn main(id : i32) {
  ${carry}let c = ${this.o.pairRun === undefined ? 'uniforms.gammaShape' : `uniforms.normShape / ${2 * sets}`};
  let cg = c / ${groups};
  let gq = cg;
  let chunks = uniforms.partialsShape[2];
  if (id >= ${this.carry ? this.carry.runs : 'uniforms.outShape[0]'} * ${groups}) {
    return;
  }
  let b = id / ${groups};
  let g = id % ${groups};
  let shiftX = Partials[id * chunks].w;
  var s = vec3<f32>(0.0);
  for (var k = 0; k < chunks; k++) {
    s += Partials[id * chunks + k].xyz;
  }
  ${momentsSnippet(this.eps)}
  for (var j = 0; j < cg; j++) {
    let q = g * cg + j;
    ${this.scaleShift ? `let scale = ${a.scale};
    setOutputAtIndex(${at}(b * 2) * c + q, scale);
    setOutputAtIndex(${at}(b * 2 + 1) * c + q, (${a.shift} - ${a.centre}) * scale + ${a.beta});` : `setOutputAtIndex((b * 4) * c + q, ${a.centre});
    setOutputAtIndex((b * 4 + 1) * c + q, ${a.shift});
    setOutputAtIndex((b * 4 + 2) * c + q, ${a.scale});
    setOutputAtIndex((b * 4 + 3) * c + q, ${a.beta});`}
  }
}
`;
  }
}

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

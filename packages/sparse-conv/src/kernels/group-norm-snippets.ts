// GroupNorm's WGSL building blocks, shared by its statistics programs and its normalizing passes:
// channel lanes, the sources a map is read from (rows, a list's rows, a depthwise conv), the
// moments and the affine form, the apply step, and the statistics programs' common head.
import { type ListPart, listReaderSnippet } from './compact-conv-program';
import { ProgramUniforms, type UniformData } from './pyramid-uniforms';
import { f32Literal, type Lanes, laneType, taps3x3Snippet, workgroupSumSnippet } from './webgpu-snippets';

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

export function laneComponents(variableNames: string[], k: Lanes): number[] {
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
export function sourceKey(source: GroupNormSource): string {
  return typeof source === 'string' ? source : `compact-${source.compact}${source.scattered ? '-scattered' : ''}`;
}

/**
 * The storage buffers a source adds after X, Starts (and Bias): the depthwise filter, the compact
 * form's List (which says which rows are active), or else the Mask when masked.
 */
export function sourceVariables(source: GroupNormSource, masked: boolean): string[] {
  if (typeof source !== 'string') return ['List'];
  return [...(source === 'depthwise' ? ['DwFilter'] : []), ...(masked ? ['Mask'] : [])];
}

/** WGSL, at module scope: isActive(row), whether a masked map's row is on (the compact form: listed). */
export function isActiveSnippet(source: GroupNormSource, masked: boolean): string {
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
export function xAtSnippet(source: GroupNormSource, k: Lanes): string {
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
export const KEPT_X = 'result[row * cq + q]';

/**
 * Whether the one-pass program keeps x in its output instead of computing it twice: for the
 * depthwise source, whose x costs nine taps (on SwiftShader 38 -> 24 ms for a 25x42x256 map).
 */
export function keepsX(source: GroupNormSource): boolean {
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
export function applyVariables(post: ApplyOptions): string[] {
  return [...(post.rowScale ? ['RowScale'] : []), ...(post.residual ? ['Gate', 'Input'] : [])];
}

export function applyKey(post: ApplyOptions): string {
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
export interface RowExprs {
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
export function applySnippet(k: Lanes, a: AffineExprs, post: ApplyOptions, masked: boolean, reads: Partial<RowExprs> = {}): string {
  const T = laneType(k);
  const r = { ...ROW_READS, ...reads };
  return `var y = ((${r.x} - ${a.centre}) + ${a.shift}) * ${a.scale} + ${a.beta};
    ${post.relu ? `y = max(y, ${T}(0.0));` : ''}
    ${post.rowScale ? `y = y * ${r.rowScale};` : ''}
    ${masked ? `if (!(${r.active})) { y = ${T}(0.0); }` : ''}
    ${post.residual ? `y = max(${T}(Input[row * cq + q]) + y * ${r.gate}, ${T}(0.0));` : ''}`;
}

/** WGSL: from s = (count, sum d, sum d^2) of an (image b, group g), its mean and sd (with eps). */
export function momentsSnippet(eps: number): string {
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
export function momentsAffine(k: Lanes, bias: boolean, paired = false, sets = 2): AffineExprs {
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
export function normParams(pairRun: number | undefined): string[] {
  return pairRun === undefined ? ['Gamma', 'Beta'] : ['Norm'];
}

/** A program's `uniforms` and `uniformData` holding pairRun, where the norm has a second set. */
export function pairUniforms(pairRun: number | undefined, u = new ProgramUniforms()): { uniforms?: string; uniformData?: UniformData } {
  if (pairRun !== undefined) u.add('pairRun', pairRun);
  return { uniforms: u.declaration, uniformData: u.data };
}

/** What the statistics programs share: which rows count, bias entering d, and the channels a thread takes. */
export interface StatsOptions {
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

export function statsShaderKey(o: StatsOptions): string {
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
export function statsProgramHead(o: StatsOptions, keep = false): string {
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
export function carrySnippet(carry: { values: string; stride: number }, first: string, count: string, read: (at: string) => string): string {
  return `for (var i = ${first}; i < ${carry.values}; i += ${count}) {
    let at = i * ${carry.stride};
    setOutputAtIndex(i, ${read('at')});
  }
  `;
}

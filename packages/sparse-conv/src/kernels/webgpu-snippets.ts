/** Shared pieces of this package's WGSL programs (each program stays one class in its own file). */

import type { PyramidLayout } from '../pyramid';
import { type LevelExprs, levelName, levelUniforms, type ProgramUniforms } from './pyramid-uniforms';

/** Joins unrolled WGSL lines (a character code, so that scripted edits cannot turn it into a real line break). */
export const NEWLINE = String.fromCharCode(10);

/**
 * Channels a thread takes at once: 4 (vec4 loads and arithmetic) where they come in fours, else 1,
 * so that a map's index arithmetic is paid once per four channels.
 */
export type Lanes = 1 | 4;

/** The WGSL type of k channels' values. */
export function laneType(k: Lanes): string {
  return k === 4 ? 'vec4<f32>' : 'f32';
}

/**
 * WGSL: a loop over the rows ky = 0..2 of a 3-wide window over `pixels` adjacent pixels of a map
 * row (image b, row y, from column x0), skipping rows outside the map, that defines rowBase (the
 * window row's first pixel) and for each column i of x0 - 1 .. x0 + pixels: at{i}, its index
 * clamped into the row times `stride` (so a read never leaves the map), and in{i}, whether it lies
 * inside the map (else it reads as 0); then `body`. readBase (the first row of the map as read), b,
 * y, x0, h and w must be in scope (rowGroupSnippet defines them).
 */
export function rowWindowLoopSnippet(pixels: number, stride: string, body: string): string {
  const columns = range(pixels + 2)
    .map((i) => `let at${i} = (rowBase + clamp(x0 + ${i - 1}, 0, w - 1)) * ${stride};
    let in${i} = x0 + ${i - 1} >= 0 && x0 + ${i - 1} < w;`)
    .join(NEWLINE + '    ');
  return `for (var ky = 0; ky < 3; ky++) {
    let yy = y + ky - 1;
    if (yy < 0 || yy >= h) {
      continue;
    }
    let rowBase = readBase + (b * h + yy) * w;
    ${columns}
    ${body}
  }`;
}

/**
 * WGSL: thread `index`'s share of its cell's `groups` channel groups when a thread takes `quads` of
 * them in turn (a pixel's or row's index arithmetic paid once for them): qBlocks, the threads of a
 * cell; `cell` itself; and q0, the thread's first group. Channel groups vary fastest, so that
 * neighbouring threads read neighbouring values. `index` must be in scope.
 */
export function channelQuadsSnippet(cell: string, groups: string, quads: number): string {
  return `let qBlocks = (${groups} + ${quads - 1}) / ${quads};
  let ${cell} = index / qBlocks;
  let q0 = (index - ${cell} * qBlocks) * ${quads};`;
}

/** WGSL: `body` for each of the thread's channel groups q = q0 .. (channelQuadsSnippet), below `groups`. */
export function channelQuadsLoopSnippet(groups: string, quads: number, body: string): string {
  return `for (var q = q0; q < min(q0 + ${quads}, ${groups}); q++) {
    ${body}
  }`;
}

/** A float32 constant as WGSL parses it back to the same float32. */
export function f32Literal(v: number): string {
  return Math.fround(v).toPrecision(9);
}

/** 0 .. n-1, for unrolled WGSL. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * WGSL: after every thread t stored its value in `partial[t]`, the sum of partial[0..threads)
 * ends in partial[0]. Call from uniform control flow (it holds barriers); `threads` a power of 2.
 */
export function workgroupSumSnippet(threads: number): string {
  return `workgroupBarrier();
  for (var half = ${threads / 2}; half > 0; half /= 2) {
    if (t < half) {
      partial[t] += partial[t + half];
    }
    workgroupBarrier();
  }`;
}

/** dispatchLayout and dispatch of a program with one thread per element of `shape`, 64 a workgroup. */
export function elementwiseDispatch(shape: number[]): { dispatchLayout: { x: number[] }; dispatch: [number, number, number] } {
  return {
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: [Math.ceil(shape.reduce((a, v) => a * v, 1) / 64), 1, 1],
  };
}

/**
 * WGSL: pixel p of [B,h,w] maps decoded into (b, y, x), then `body` for each tap (ky, kx) of a 'same'
 * 3x3 window whose pixel (yy, xx) lies inside the map. h and w must be in scope.
 */
export function taps3x3Snippet(p: string, body: string): string {
  return `let b = ${p} / (h * w);
  let y = (${p} / w) % h;
  let x = ${p} % w;
  for (var ky = 0; ky < 3; ky++) {
    let yy = y + ky - 1;
    if (yy < 0 || yy >= h) {
      continue;
    }
    for (var kx = 0; kx < 3; kx++) {
      let xx = x + kx - 1;
      if (xx < 0 || xx >= w) {
        continue;
      }
      ${body}
    }
  }`;
}

/**
 * WGSL, at module scope: mapPos(p), the (y, x, h, w) of row p of a map: a map [B,h,w] whose shape
 * is the uniform `source.shape` (e.g. 'uniforms.xShape'), or a packed pyramid whose levels' first
 * rows and sizes are the given expressions (pyramid-uniforms.ts). A 3x3 tap (dy, dx) of p lies
 * inside its map when 0 <= y + dy < h and 0 <= x + dx < w, at row p + dy * w + dx, in either.
 */
export function mapPosSnippet(source: { shape: string } | LevelExprs): string {
  if ('shape' in source) {
    return `fn mapPos(p : i32) -> vec4<i32> {
  let h = ${source.shape}[1];
  let w = ${source.shape}[2];
  let r = p % (h * w);
  let y = r / w;
  return vec4<i32>(y, r - y * w, h, w);
}`;
  }
  return `fn mapPos(p : i32) -> vec4<i32> {
  ${levelOfSnippet(source, (l) => [['h', source.heights[l]], ['w', source.widths[l]]])}
  let r = q % (h * w);
  let y = r / w;
  return vec4<i32>(y, r - y * w, h, w);
}`;
}

/**
 * WGSL: mapRun(p), the run of pixel p that GroupNorm normalises on its own: its image in a map
 * [B,H,W,C] (read through `shape`), its (level, image) in a packed pyramid, level-major as
 * segmentRowStarts (pyramid.ts) numbers them.
 */
export function mapRunSnippet(source: { shape: string } | LevelExprs): string {
  if ('shape' in source) {
    return `fn mapRun(p : i32) -> i32 {
  return p / (${source.shape}[1] * ${source.shape}[2]);
}`;
  }
  // every level holds the same images: the first level's rows over its pixels
  return `fn mapRun(p : i32) -> i32 {
  let images = ${source.starts[1]} / (${source.heights[0]} * ${source.widths[0]});
  ${levelOfSnippet(source, (l) => [['hw', `${source.heights[l]} * ${source.widths[l]}`], ['level', `${l}`]])}
  return level * images + q / hw;
}`;
}

/**
 * WGSL: finds pixel p's level of a packed pyramid: q, its row within the level, and the variables
 * `values(l)` names, set to level l's expressions. Levels ascend, so the last start at or below p
 * names its level.
 */
function levelOfSnippet(source: LevelExprs, values: (l: number) => [string, string][]): string {
  return source.heights
    .map((_, l) => {
      const sets = values(l);
      if (l === 0) return ['var q = p;', ...sets.map(([v, e]) => `var ${v} = ${e};`)].join(NEWLINE + '  ');
      return `if (p >= ${source.starts[l]}) {
    ${[`q = p - ${source.starts[l]};`, ...sets.map(([v, e]) => `${v} = ${e};`)].join(NEWLINE + '    ')}
  }`;
    })
    .join(NEWLINE + '  ');
}

/** Row groups (runs of n adjacent pixels of a row, the last one short) of a map [B,h,w] or of each level of a packed pyramid. */
export function rowGroups(source: { shape: number[] } | PyramidLayout, n: number): number[] {
  const maps = 'shape' in source ? [{ batch: source.shape[0], h: source.shape[1], w: source.shape[2] }] : source.sizes.map(([h, w]) => ({ batch: source.batch, h, w }));
  return maps.map((m) => m.batch * m.h * Math.ceil(m.w / n));
}

/** A packed pyramid's levels for rowGroupSnippet: their geometry and each level's first row group (the count last), as WGSL expressions. */
export interface PyramidRowGroups {
  levels: LevelExprs;
  firstGroups: string[];
}

/**
 * WGSL: row group `cell` (rowGroups) decoded into its map's h, w and first row mapBase (0, or a
 * pyramid level's), its image b, row y and first column x0; and `cells`, the count of row groups.
 * The map is [B,h,w] with the uniform shape `source.shape` (e.g. 'uniforms.xShape'), or a packed
 * pyramid's levels. readBase: mapBase + `readOffset` (a WGSL expression), where the map is read
 * from a larger buffer that holds it from that row on (some levels of a pyramid).
 */
export function rowGroupSnippet(source: { shape: string } | PyramidRowGroups, n: number, cell: string, readOffset = '0'): string {
  const decode = `let readBase = mapBase + ${readOffset};
  let wq = (w + ${n - 1}) / ${n};
  let b = c / (h * wq);
  let y = (c / wq) % h;
  let x0 = (c % wq) * ${n};`;
  if ('shape' in source) {
    return `let h = ${source.shape}[1];
  let w = ${source.shape}[2];
  let mapBase = 0;
  let c = ${cell};
  let cells = ${source.shape}[0] * h * ((w + ${n - 1}) / ${n});
  ${decode}`;
  }
  const { levels, firstGroups } = source;
  const chain = levels.heights.map((h, l) => (l === 0 ? `var c = ${cell};
  var h = ${h};
  var w = ${levels.widths[0]};
  var mapBase = 0;` : `if (${cell} >= ${firstGroups[l]}) {
    c = ${cell} - ${firstGroups[l]};
    h = ${h};
    w = ${levels.widths[l]};
    mapBase = ${levels.starts[l]};
  }`));
  return `${chain.join(NEWLINE + '  ')}
  let cells = ${firstGroups[levels.heights.length]};
  ${decode}`;
}

/** Row-group uniforms of a pyramid's levels (rowGroupSnippet): its geometry and each level's first row group. */
export function pyramidRowGroups(u: ProgramUniforms, layout: PyramidLayout, n: number): PyramidRowGroups {
  const counts = rowGroups(layout, n);
  const firsts = [0];
  for (const k of counts) firsts.push(firsts[firsts.length - 1] + k);
  return { levels: levelUniforms(u, layout, 'pyr'), firstGroups: firsts.map((v, l) => u.add(levelName('pyr', 'Groups', l), v)) };
}

/**
 * WGSL, at module scope: sourceCoord(o, inSize, outSize), the source coordinate of output row or
 * column o as tfjs's ResizeBilinear samples it (no half-pixel centres; align corners as asked).
 */
export function sourceCoordSnippet(alignCorners: boolean): string {
  return `fn sourceCoord(o : i32, inSize : i32, outSize : i32) -> f32 {
  var effIn = f32(inSize);
  var effOut = f32(outSize);
  ${alignCorners ? `if (outSize > 1) {
    effIn = effIn - 1.0;
    effOut = effOut - 1.0;
  }` : ''}
  return effIn / effOut * f32(o);
}`;
}

/** WGSL: sum += the bilinear value of taps tl, tr, bl, br (in scope) with the weights fx{s}, fy{s}, in ResizeBilinear's order. */
export function bilinearAddSnippet(s: string): string {
  return `let top = tl + (tr - tl) * fx${s};
        let bottom = bl + (br - bl) * fx${s};
        sum += top + (bottom - top) * fy${s};`;
}

/**
 * The dispatch of a cell-lanes program (cellLanesMainSnippet) over a map [B,h,w] or a packed
 * pyramid's levels: `lanes` threads for each cell of `pixels` adjacent pixels, in workgroups of 64.
 * Throws, naming `program`, unless lanes is a power of 2 up to 64 (a cell's lanes share a workgroup).
 */
export function cellLanesDispatch(program: string, source: { shape: number[] } | PyramidLayout, pixels: number, lanes: number): { dispatchLayout: { x: number[] }; dispatch: [number, number, number] } {
  if (!(Number.isInteger(Math.log2(lanes)) && lanes <= 64)) throw new Error(`${program}: lanes must be a power of 2 up to 64, got ${lanes}`);
  return elementwiseDispatch([lanes * rowGroups(source, pixels).reduce((a, v) => a + v, 0)]);
}

/** What a program whose threads compute cells (rowGroupSnippet's runs of adjacent pixels) puts into cellLanesMainSnippet. */
export interface CellLanesMain {
  /** the cells' map, as rowGroupSnippet takes it */
  groups: { shape: string } | PyramidRowGroups;
  /** adjacent output pixels of a cell */
  pixels: number;
  /** threads sharing a cell's channel quads (1: a thread takes them all) */
  lanes: number;
  /** WGSL after the cell is decoded: the accumulators, and what the window reads */
  prelude: string;
  /** WGSL: the thread's share of the cell's reads and sums (its quads from `lane` on, every lanes-th; from 0 with one lane) */
  window: string;
  /** the WGSL type of each of the thread's sums */
  sumType: 'f32' | 'vec4<f32>';
  /** the thread's sums, in the order `writes` takes them */
  sums: string[];
  /** WGSL writing the outputs from each sum of the cell by its index; out0 (the cell's first output pixel) in scope */
  writes: (sum: (i: number) => string) => string;
}

/**
 * WGSL: main() of a program of 64-thread workgroups whose threads compute cells of adjacent output
 * pixels (the gate conv, the four-output conv). With one lane a thread takes a whole cell; with
 * more, a cell's lanes are neighbouring threads of a workgroup: each leaves its sums in workgroup
 * memory and the cell's first lane adds them in lane order, the same order on every device.
 */
export function cellLanesMainSnippet(m: CellLanesMain): string {
  const cell = m.lanes > 1 ? `index / ${m.lanes}` : 'index';
  const head = `${rowGroupSnippet(m.groups, m.pixels, cell)}
  ${m.prelude}`;
  const out0 = 'let out0 = mapBase + (b * h + y) * w + x0;';
  if (m.lanes === 1) {
    return `fn main(index : i32) {
  ${head}
  if (index >= cells) {
    return;
  }
  ${m.window}
  ${out0}
${m.writes((i) => m.sums[i])}
}`;
  }
  const slot = (i: number) => `${i} * 64 + i32(localId.x)`;
  return `var<workgroup> laneSums : array<${m.sumType}, ${m.sums.length * 64}>;

fn main(index : i32) {
  ${head}
  let lane = index % ${m.lanes};
  // threads past the last cell still reach the barrier
  let live = ${cell} < cells;
  if (live) {
    ${m.window}
  }
  ${m.sums.map((s, i) => `laneSums[${slot(i)}] = ${s};`).join(`${NEWLINE}  `)}
  workgroupBarrier();
  if (!live || lane != 0) {
    return;
  }
  ${out0}
${m.sums.map((_, i) => `  var sum${i} = ${m.sumType}(0.0);
  for (var l = 0; l < ${m.lanes}; l++) {
    sum${i} += laneSums[${slot(i)} + l];
  }`).join(NEWLINE)}
${m.writes((i) => `sum${i}`)}
}`;
}

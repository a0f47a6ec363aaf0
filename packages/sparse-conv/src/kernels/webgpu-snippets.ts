/** Shared pieces of this package's WGSL programs (each program stays one class in its own file). */

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
 * inside the map (else it reads as 0); then `body`. b, y, x0, h and w must be in scope.
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
    let rowBase = (b * h + yy) * w;
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

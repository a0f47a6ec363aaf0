/** Shared pieces of this package's WGSL programs (each program stays one class in its own file). */

/** Joins unrolled WGSL lines (a character code, so that scripted edits cannot turn it into a real line break). */
export const NEWLINE = String.fromCharCode(10);

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

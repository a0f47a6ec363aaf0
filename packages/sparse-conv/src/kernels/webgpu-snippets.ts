/** Shared pieces of this package's WGSL programs (each program stays one class in its own file). */

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

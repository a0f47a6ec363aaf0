/**
 * Active-pixel density above which sparseConv2d (method 'auto', cpu and wasm: the backends that read
 * the mask anyway) runs the dense conv instead, then masks. Measured with benchmarks/src/sparse-conv.ts
 * (README, "Measured"): on cpu the row kernels beat tfjs-cpu's dense conv even at density 1, so
 * they never fall back; on wasm the im2col + matMul path costs ~1.05x XNNPACK's dense conv per pixel,
 * and the JS depthwise loop lost to XNNPACK's SIMD depthwise at every density above 0 on an idle
 * machine (2026-12-01: 22.8 vs 16.5 ms at 0.05, 100x167x256), so depthwise always runs dense there. WebGPU decides without a
 * readback (always the on-GPU compacted path), so it has no entry.
 */
export interface DenseFallback {
  conv: number;
  depthwise: number;
}

export const DENSE_FALLBACK_DENSITY: Record<string, DenseFallback> = {
  cpu: { conv: 1, depthwise: 1 },
  wasm: { conv: 0.9, depthwise: 0 },
};

/** Backends not in the table (webgl, tensorflow) use the generic gather path up to this density. */
export const DEFAULT_FALLBACK: DenseFallback = { conv: 0.5, depthwise: 0.5 };

export function denseFallbackDensity(backend: string, depthwise: boolean): number {
  const t = DENSE_FALLBACK_DENSITY[backend] ?? DEFAULT_FALLBACK;
  return depthwise ? t.depthwise : t.conv;
}

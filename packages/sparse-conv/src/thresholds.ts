/**
 * Active-pixel density above which sparseConv2d runs the dense conv instead (then masks): where the
 * sparse kernel stops paying. Measured with benchmarks/src/sparse-conv.ts (see README), per backend.
 */
export interface DenseFallback {
  conv: number;
  depthwise: number;
}

export const DENSE_FALLBACK_DENSITY: Record<string, DenseFallback> = {
  cpu: { conv: 0.9, depthwise: 0.9 },
  wasm: { conv: 0.9, depthwise: 0.9 },
  webgpu: { conv: 0.9, depthwise: 0.9 },
};

/** Backends not in the table (webgl, tensorflow) use the generic gather path up to this density. */
export const DEFAULT_FALLBACK: DenseFallback = { conv: 0.5, depthwise: 0.5 };

export function denseFallbackDensity(backend: string, depthwise: boolean): number {
  const t = DENSE_FALLBACK_DENSITY[backend] ?? DEFAULT_FALLBACK;
  return depthwise ? t.depthwise : t.conv;
}

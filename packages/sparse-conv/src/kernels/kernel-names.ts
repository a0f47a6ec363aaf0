/** Kernel names this package registers (per backend, on first use). */
export const SPARSE_IM2COL = 'DynheadSparseIm2Col';
export const SPARSE_DEPTHWISE = 'DynheadSparseDepthwise';
export const SCATTER_ROWS = 'DynheadScatterRows';

export interface Im2ColAttrs {
  kernel: number;
}
export interface ScatterRowsAttrs {
  /** [B, H, W, C] of the dense output. */
  outShape: number[];
}
/** WebGPU: conv evaluated only where the mask (kept on the GPU) is positive. */
export const MASKED_CONV = 'DynheadMaskedConv';
/** cpu: regular conv straight from the active pixels (no im2col buffer). */
export const SPARSE_CONV_ROWS = 'DynheadSparseConvRows';
/** WebGPU: conv at a compacted list of active pixels, rows [N, Cout]. */
export const COMPACT_CONV = 'DynheadCompactConv';

import type * as tf from '@tensorflow/tfjs-core';

export interface GroupNormParams {
  groups: number;
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  /** Default 1e-5, as torch.nn.GroupNorm. */
  eps?: number;
}

/**
 * Which implementation sparseConv2d uses; 'auto' picks per backend and density.
 * - 'kernel': the backend's sparse kernel: cpu/wasm row kernels; webgpu's masked WGSL program (tile
 *   skipping, no mask readback).
 * - 'compact': webgpu's compacted-index-list WGSL programs (the list is built on the GPU from a
 *   prefix sum of the mask, no readback; one thread per active pixel); 'kernel' elsewhere.
 * - 'gather': the generic tfjs-ops path (gather, matMul, scatterND) on any backend.
 * - 'dense': dense conv, then masked (the fallback).
 */
export type SparseConvMethod = 'auto' | 'dense' | 'gather' | 'kernel' | 'compact';

export interface SparseConvOptions {
  bias?: tf.Tensor1D;
  /** Filter [kh,kw,C,1] when true, else [kh,kw,Cin,Cout]. */
  depthwise?: boolean;
  /** GroupNorm after conv(+bias). Sparse form: statistics from the active pixels of each image only. */
  norm?: GroupNormParams;
  /** Applied after norm. */
  post?: 'none' | 'relu';
  /** Only 1 is supported; present so that a wrong stride fails loudly instead of being ignored. */
  strides?: number;
  /** Only 'same' is supported. */
  pad?: 'same';
  /**
   * sparseConv2d only: the depth node's epilogue, `ReLU(input + gate * y)` over the whole map (so
   * ReLU(input) where the mask is 0), fused with the scatter on cpu and wasm. input [B,H,W,Cout],
   * gate [B,H,W,1], zero wherever the mask is.
   */
  gatedResidual?: { input: tf.Tensor4D; gate: tf.Tensor4D };
  /**
   * sparseConv2d only: the conv runs where the mask's 3x3 max-pool is > 0 (a depth node's conv1,
   * whose output conv2 reads around each of its pixels). On webgpu with GroupNorm the pixel list
   * takes the pool as it reads the mask, so no pooled map is made.
   */
  dilateMask?: boolean;
  /** sparseConv2d only: force an implementation (benchmarks, tests). Default 'auto'. */
  method?: SparseConvMethod;
}

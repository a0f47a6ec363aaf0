// Public API of @dynhead/sparse-conv.
export type { GroupNormParams, SparseConvOptions, SparseConvMethod } from './types';
export { gateMask } from './gate-mask';
export { maskedConv2d } from './masked-conv2d';
export { sparseConv2d } from './sparse-conv2d';
export { convCost, chargeCost, addCosts, type ConvSpec, type CostTerms } from './cost';
export { groupNormDense, groupNormMasked } from './group-norm';
export { readActivePixels, type ActivePixels } from './active-pixels';

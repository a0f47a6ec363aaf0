// Public API of @dynhead/sparse-conv.
export type { GroupNormParams, SparseConvOptions, SparseConvMethod } from './types';
export { gateMask } from './gate-mask';
export { maskedConv2d } from './masked-conv2d';
export { chooseMethod, sparseConv2d, sparseConv2dWithConvs, sparseConvPair } from './sparse-conv2d';
export { pyramidPairRunsAtOnce, sparseConvPairPyramid, type PyramidPairConv } from './pyramid-conv-pair';
export { blendPyramid, depthwiseNormPyramid, type DepthwiseNormLayer, scalePathsPyramid, type ScalePaths } from './pyramid-scale-node';
export { levelRowStarts, packPyramid, pyramidLevels, type PyramidLevels, pyramidLayoutOf, pyramidRows, segmentRowStarts, unpackPyramid, type PyramidLayout } from './pyramid';
export { masksStayOnDevice } from './kernels/register';
export { setWebGPUTuning } from './kernels/webgpu-kernels';
export { DENSE_FALLBACK_DENSITY, denseFallbackDensity, type DenseFallback } from './thresholds';
export { sumTensors } from './sum-tensors';
export { convCost, chargeCost, gateSums, addCosts, type ConvSpec, type CostTerms, type PyramidGate } from './cost';
export { groupNormDense, groupNormMasked, groupNormInference, type GroupNormInferenceOptions } from './group-norm';
export { convLayer } from './conv-layer';
export { blendResized, blendResizedWithConvs } from './blend-resized';
export { depthwiseNormEach, type GatedDepthwiseLayer } from './depthwise-norm-each';
export { activatedGateConv, activatedGateConvPyramid, activatedGateConvsPyramid, conv2dFewOutputs, conv2dFewOutputsEach, gateConvsTakenAlong, type ConvActivation, type GateConvParams } from './few-output-conv';
export { readActivePixels, type ActivePixels } from './active-pixels';
